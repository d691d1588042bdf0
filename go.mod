module github.com/bpfopt/bpfopt

go 1.26
