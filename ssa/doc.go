// Package ssa holds the analyses that passes run over ir functions in SSA
// form — dominators, block orders, liveness — and SSA construction from
// per-block variable definitions (Braun et al.).
//
// Import rule: ssa imports only ir and golang.org/x/tools/container/intsets;
// it knows nothing of eBPF or MIPS.
//
// The analyses expect a function that passes ir.Verify (block IDs below
// NumBlocks, value IDs below NumValues, consistent edges). Blocks that are
// unreachable from the entry are ignored: they have no immediate dominator,
// dominate nothing and have empty liveness sets.
package ssa
