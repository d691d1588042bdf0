package ir

// Op is an IR operation. The table opTable below is the single source of
// truth for every op's name, operand types, result type and effects.
type Op uint16

// AuxKind says what a value's auxiliary fields mean for an op.
type AuxKind uint8

const (
	AuxNone   AuxKind = iota
	AuxInt            // AuxInt is a constant, an argument index or a byte offset
	AuxSym            // Sym names a callee (a Call keeps its CallEffect in AuxInt)
	AuxOffset         // AuxInt is a byte offset added to the address; Align may be set
)

// OpInfo describes one op.
type OpInfo struct {
	Name     string
	Args     []Type // operand types; for Variadic ops the type of every operand (TypeVoid: any)
	Variadic bool
	Result   Type // result type; ignored when ResultFromValue
	// ResultFromValue: the result type is the value's own Type (Phi, Copy,
	// CallRuntime), checked by the verifier op by op.
	ResultFromValue bool
	Aux             AuxKind
	ReadsMem        bool // reads memory: may not move across side effects
	SideEffect      bool // writes memory or calls: never removed, never reordered
	Commutative     bool
}

const (
	OpInvalid Op = iota

	// Constants, arguments and addresses.
	OpConst32   // [c] → i32 constant c (low 32 bits of AuxInt)
	OpConst64   // [c] → i64 constant c
	OpArg       // [n] → i32: word n of the function's arguments (entry: 0 = ctx, 1 = len; subprogram: its parameters' words); align=N: a multiple of N, by contract with the caller
	OpFramePtr  // → i32: address just past the end of the 512-byte BPF stack (BPF r10); at least 512, so FramePtr-k never wraps for k <= 512
	OpLocalAddr // [k] → i32: address of compiler scratch slot k (8 bytes, 8-aligned)
	OpSymAddr   // {sym} → i32: address of symbol sym (a map, a data section), resolved at link time
	OpPhi       // args... → one argument per predecessor, in Block.Preds order
	OpCopy      // a → a

	// 32-bit arithmetic. Shift amounts are masked to 0..31.
	OpAdd32    // a, b → a + b
	OpSub32    // a, b → a - b
	OpMul32    // a, b → low 32 bits of a * b
	OpMulHiU32 // a, b → high 32 bits of the unsigned 64-bit product a * b
	OpDivU32   // a, b → a / b unsigned; 0 when b == 0 (BPF semantics)
	OpModU32   // a, b → a % b unsigned; a when b == 0
	OpDivS32   // a, b → a / b signed, truncated; 0 when b == 0; INT_MIN / -1 = INT_MIN
	OpModS32   // a, b → a % b signed (sign of a); a when b == 0; INT_MIN % -1 = 0
	OpAnd32    // a, b → a & b
	OpOr32     // a, b → a | b
	OpXor32    // a, b → a ^ b
	OpShl32    // a, n → a << (n & 31)
	OpShrU32   // a, n → a >> (n & 31), logical
	OpShrS32   // a, n → a >> (n & 31), arithmetic
	OpNeg32    // a → -a
	OpBswap16  // a → the low 16 bits of a byte-swapped, zero-extended
	OpBswap32  // a → a byte-swapped
	OpSelect32 // c, a, b → c != 0 ? a : b

	// 32-bit comparisons, producing 0 or 1. Greater-than forms swap operands.
	OpEq32  // a, b → a == b
	OpNe32  // a, b → a != b
	OpLtU32 // a, b → a < b unsigned
	OpLeU32 // a, b → a <= b unsigned
	OpLtS32 // a, b → a < b signed
	OpLeS32 // a, b → a <= b signed

	// Narrow extensions within 32 bits.
	OpZeroExt8to32  // a → a & 0xff
	OpZeroExt16to32 // a → a & 0xffff
	OpSignExt8to32  // a → sign-extended low byte
	OpSignExt16to32 // a → sign-extended low half

	// 64-bit arithmetic (removed by legalize64). Shift amounts are i32, masked to 0..63.
	OpAdd64   // a, b → a + b
	OpSub64   // a, b → a - b
	OpMul64   // a, b → low 64 bits of a * b
	OpDivU64  // a, b → a / b unsigned; 0 when b == 0
	OpModU64  // a, b → a % b unsigned; a when b == 0
	OpDivS64  // a, b → a / b signed; 0 when b == 0; INT64_MIN / -1 = INT64_MIN
	OpModS64  // a, b → a % b signed; a when b == 0; INT64_MIN % -1 = 0
	OpAnd64   // a, b → a & b
	OpOr64    // a, b → a | b
	OpXor64   // a, b → a ^ b
	OpShl64   // a, n:i32 → a << (n & 63)
	OpShrU64  // a, n:i32 → a >> (n & 63), logical
	OpShrS64  // a, n:i32 → a >> (n & 63), arithmetic
	OpNeg64   // a → -a
	OpBswap64 // a → a byte-swapped

	// 64-bit comparisons, producing an i32 0 or 1.
	OpEq64  // a, b → a == b
	OpNe64  // a, b → a != b
	OpLtU64 // a, b → a < b unsigned
	OpLeU64 // a, b → a <= b unsigned
	OpLtS64 // a, b → a < b signed
	OpLeS64 // a, b → a <= b signed

	// Conversions between widths; the dec64 pair ops.
	OpZeroExt32to64 // a:i32 → i64 with high word 0
	OpSignExt32to64 // a:i32 → i64 with high word a >> 31 (arithmetic)
	OpInt64Make     // hi:i32, lo:i32 → i64
	OpInt64Hi       // a:i64 → high word
	OpInt64Lo       // a:i64 → low word
	OpPairLo        // p:pair → low word of a call's 64-bit result
	OpPairHi        // p:pair → high word of a call's 64-bit result

	// Memory. Addresses are i32; AuxInt is a byte offset; Align is the
	// alignment proven for address+offset (0 or 1: unknown).
	OpLoad8   // [off] addr → zero-extended byte
	OpLoad16  // [off] addr → zero-extended half
	OpLoad32  // [off] addr → word
	OpLoadS8  // [off] addr → sign-extended byte
	OpLoadS16 // [off] addr → sign-extended half
	OpLoad64  // [off] addr → i64 (removed by legalize64)
	OpStore8  // [off] addr, v:i32 → store low byte of v
	OpStore16 // [off] addr, v:i32 → store low half of v
	OpStore32 // [off] addr, v:i32 → store v
	OpStore64 // [off] addr, v:i64 → store v (removed by legalize64)

	// Atomics, all sequentially consistent, all returning the old value.
	OpAtomicAdd32     // [off] addr, v → old; mem = old + v
	OpAtomicOr32      // [off] addr, v → old; mem = old | v
	OpAtomicAnd32     // [off] addr, v → old; mem = old & v
	OpAtomicXor32     // [off] addr, v → old; mem = old ^ v
	OpAtomicXchg32    // [off] addr, v → old; mem = v
	OpAtomicCmpXchg32 // [off] addr, expect, v → old; mem = v if old == expect
	OpAtomicAdd64     // [off] addr, v:i64 → old:i64 (removed by legalize64)
	OpAtomicOr64      // [off] addr, v:i64 → old:i64
	OpAtomicAnd64     // [off] addr, v:i64 → old:i64
	OpAtomicXor64     // [off] addr, v:i64 → old:i64
	OpAtomicXchg64    // [off] addr, v:i64 → old:i64
	OpAtomicCmpXchg64 // [off] addr, expect:i64, v:i64 → old:i64

	// Calls.
	OpCallRuntime // {sym} args... → result of runtime function sym (see runtime.go)
	OpCall        // {sym} args... → BPF-convention call: every parameter and the result are 64-bit (r1..r5 → r0); AuxInt: its memory effect (CallEffect), reads=/writes= in text

	opCount
)

var (
	i32x1    = []Type{I32}
	i32x2    = []Type{I32, I32}
	i32x3    = []Type{I32, I32, I32}
	i64x1    = []Type{I64}
	i64x2    = []Type{I64, I64}
	i64s     = []Type{I64, I32}
	i32i64   = []Type{I32, I64}
	i32i64x2 = []Type{I32, I64, I64}
)

var opTable = [opCount]OpInfo{
	OpInvalid: {Name: "Invalid"},

	OpConst32:   {Name: "Const32", Result: I32, Aux: AuxInt},
	OpConst64:   {Name: "Const64", Result: I64, Aux: AuxInt},
	OpArg:       {Name: "Arg", Result: I32, Aux: AuxInt},
	OpFramePtr:  {Name: "FramePtr", Result: I32},
	OpLocalAddr: {Name: "LocalAddr", Result: I32, Aux: AuxInt},
	OpSymAddr:   {Name: "SymAddr", Result: I32, Aux: AuxSym},
	OpPhi:       {Name: "Phi", Variadic: true, ResultFromValue: true},
	OpCopy:      {Name: "Copy", Args: []Type{TypeVoid}, ResultFromValue: true},

	OpAdd32:    {Name: "Add32", Args: i32x2, Result: I32, Commutative: true},
	OpSub32:    {Name: "Sub32", Args: i32x2, Result: I32},
	OpMul32:    {Name: "Mul32", Args: i32x2, Result: I32, Commutative: true},
	OpMulHiU32: {Name: "MulHiU32", Args: i32x2, Result: I32, Commutative: true},
	OpDivU32:   {Name: "DivU32", Args: i32x2, Result: I32},
	OpModU32:   {Name: "ModU32", Args: i32x2, Result: I32},
	OpDivS32:   {Name: "DivS32", Args: i32x2, Result: I32},
	OpModS32:   {Name: "ModS32", Args: i32x2, Result: I32},
	OpAnd32:    {Name: "And32", Args: i32x2, Result: I32, Commutative: true},
	OpOr32:     {Name: "Or32", Args: i32x2, Result: I32, Commutative: true},
	OpXor32:    {Name: "Xor32", Args: i32x2, Result: I32, Commutative: true},
	OpShl32:    {Name: "Shl32", Args: i32x2, Result: I32},
	OpShrU32:   {Name: "ShrU32", Args: i32x2, Result: I32},
	OpShrS32:   {Name: "ShrS32", Args: i32x2, Result: I32},
	OpNeg32:    {Name: "Neg32", Args: i32x1, Result: I32},
	OpBswap16:  {Name: "Bswap16", Args: i32x1, Result: I32},
	OpBswap32:  {Name: "Bswap32", Args: i32x1, Result: I32},
	OpSelect32: {Name: "Select32", Args: i32x3, Result: I32},

	OpEq32:  {Name: "Eq32", Args: i32x2, Result: I32, Commutative: true},
	OpNe32:  {Name: "Ne32", Args: i32x2, Result: I32, Commutative: true},
	OpLtU32: {Name: "LtU32", Args: i32x2, Result: I32},
	OpLeU32: {Name: "LeU32", Args: i32x2, Result: I32},
	OpLtS32: {Name: "LtS32", Args: i32x2, Result: I32},
	OpLeS32: {Name: "LeS32", Args: i32x2, Result: I32},

	OpZeroExt8to32:  {Name: "ZeroExt8to32", Args: i32x1, Result: I32},
	OpZeroExt16to32: {Name: "ZeroExt16to32", Args: i32x1, Result: I32},
	OpSignExt8to32:  {Name: "SignExt8to32", Args: i32x1, Result: I32},
	OpSignExt16to32: {Name: "SignExt16to32", Args: i32x1, Result: I32},

	OpAdd64:   {Name: "Add64", Args: i64x2, Result: I64, Commutative: true},
	OpSub64:   {Name: "Sub64", Args: i64x2, Result: I64},
	OpMul64:   {Name: "Mul64", Args: i64x2, Result: I64, Commutative: true},
	OpDivU64:  {Name: "DivU64", Args: i64x2, Result: I64},
	OpModU64:  {Name: "ModU64", Args: i64x2, Result: I64},
	OpDivS64:  {Name: "DivS64", Args: i64x2, Result: I64},
	OpModS64:  {Name: "ModS64", Args: i64x2, Result: I64},
	OpAnd64:   {Name: "And64", Args: i64x2, Result: I64, Commutative: true},
	OpOr64:    {Name: "Or64", Args: i64x2, Result: I64, Commutative: true},
	OpXor64:   {Name: "Xor64", Args: i64x2, Result: I64, Commutative: true},
	OpShl64:   {Name: "Shl64", Args: i64s, Result: I64},
	OpShrU64:  {Name: "ShrU64", Args: i64s, Result: I64},
	OpShrS64:  {Name: "ShrS64", Args: i64s, Result: I64},
	OpNeg64:   {Name: "Neg64", Args: i64x1, Result: I64},
	OpBswap64: {Name: "Bswap64", Args: i64x1, Result: I64},

	OpEq64:  {Name: "Eq64", Args: i64x2, Result: I32, Commutative: true},
	OpNe64:  {Name: "Ne64", Args: i64x2, Result: I32, Commutative: true},
	OpLtU64: {Name: "LtU64", Args: i64x2, Result: I32},
	OpLeU64: {Name: "LeU64", Args: i64x2, Result: I32},
	OpLtS64: {Name: "LtS64", Args: i64x2, Result: I32},
	OpLeS64: {Name: "LeS64", Args: i64x2, Result: I32},

	OpZeroExt32to64: {Name: "ZeroExt32to64", Args: i32x1, Result: I64},
	OpSignExt32to64: {Name: "SignExt32to64", Args: i32x1, Result: I64},
	OpInt64Make:     {Name: "Int64Make", Args: i32x2, Result: I64},
	OpInt64Hi:       {Name: "Int64Hi", Args: i64x1, Result: I32},
	OpInt64Lo:       {Name: "Int64Lo", Args: i64x1, Result: I32},
	OpPairLo:        {Name: "PairLo", Args: []Type{Pair}, Result: I32},
	OpPairHi:        {Name: "PairHi", Args: []Type{Pair}, Result: I32},

	OpLoad8:   {Name: "Load8", Args: i32x1, Result: I32, Aux: AuxOffset, ReadsMem: true},
	OpLoad16:  {Name: "Load16", Args: i32x1, Result: I32, Aux: AuxOffset, ReadsMem: true},
	OpLoad32:  {Name: "Load32", Args: i32x1, Result: I32, Aux: AuxOffset, ReadsMem: true},
	OpLoadS8:  {Name: "LoadS8", Args: i32x1, Result: I32, Aux: AuxOffset, ReadsMem: true},
	OpLoadS16: {Name: "LoadS16", Args: i32x1, Result: I32, Aux: AuxOffset, ReadsMem: true},
	OpLoad64:  {Name: "Load64", Args: i32x1, Result: I64, Aux: AuxOffset, ReadsMem: true},
	OpStore8:  {Name: "Store8", Args: i32x2, Result: TypeVoid, Aux: AuxOffset, SideEffect: true},
	OpStore16: {Name: "Store16", Args: i32x2, Result: TypeVoid, Aux: AuxOffset, SideEffect: true},
	OpStore32: {Name: "Store32", Args: i32x2, Result: TypeVoid, Aux: AuxOffset, SideEffect: true},
	OpStore64: {Name: "Store64", Args: i32i64, Result: TypeVoid, Aux: AuxOffset, SideEffect: true},

	OpAtomicAdd32:     {Name: "AtomicAdd32", Args: i32x2, Result: I32, Aux: AuxOffset, ReadsMem: true, SideEffect: true},
	OpAtomicOr32:      {Name: "AtomicOr32", Args: i32x2, Result: I32, Aux: AuxOffset, ReadsMem: true, SideEffect: true},
	OpAtomicAnd32:     {Name: "AtomicAnd32", Args: i32x2, Result: I32, Aux: AuxOffset, ReadsMem: true, SideEffect: true},
	OpAtomicXor32:     {Name: "AtomicXor32", Args: i32x2, Result: I32, Aux: AuxOffset, ReadsMem: true, SideEffect: true},
	OpAtomicXchg32:    {Name: "AtomicXchg32", Args: i32x2, Result: I32, Aux: AuxOffset, ReadsMem: true, SideEffect: true},
	OpAtomicCmpXchg32: {Name: "AtomicCmpXchg32", Args: i32x3, Result: I32, Aux: AuxOffset, ReadsMem: true, SideEffect: true},
	OpAtomicAdd64:     {Name: "AtomicAdd64", Args: i32i64, Result: I64, Aux: AuxOffset, ReadsMem: true, SideEffect: true},
	OpAtomicOr64:      {Name: "AtomicOr64", Args: i32i64, Result: I64, Aux: AuxOffset, ReadsMem: true, SideEffect: true},
	OpAtomicAnd64:     {Name: "AtomicAnd64", Args: i32i64, Result: I64, Aux: AuxOffset, ReadsMem: true, SideEffect: true},
	OpAtomicXor64:     {Name: "AtomicXor64", Args: i32i64, Result: I64, Aux: AuxOffset, ReadsMem: true, SideEffect: true},
	OpAtomicXchg64:    {Name: "AtomicXchg64", Args: i32i64, Result: I64, Aux: AuxOffset, ReadsMem: true, SideEffect: true},
	OpAtomicCmpXchg64: {Name: "AtomicCmpXchg64", Args: i32i64x2, Result: I64, Aux: AuxOffset, ReadsMem: true, SideEffect: true},

	OpCallRuntime: {Name: "CallRuntime", Variadic: true, ResultFromValue: true, Aux: AuxSym, ReadsMem: true, SideEffect: true},
	OpCall:        {Name: "Call", Variadic: true, ResultFromValue: true, Aux: AuxSym, ReadsMem: true, SideEffect: true},
}

// Info returns the op's table entry.
func (o Op) Info() *OpInfo {
	if o >= opCount {
		return &opTable[OpInvalid]
	}
	return &opTable[o]
}

func (o Op) String() string { return o.Info().Name }

var opByName = func() map[string]Op {
	m := make(map[string]Op, opCount)
	for i := Op(1); i < opCount; i++ {
		m[opTable[i].Name] = i
	}
	return m
}()

// OpByName finds an op by its printed name.
func OpByName(name string) (Op, bool) {
	o, ok := opByName[name]
	return o, ok
}

// NumOps is the number of ops, for tables indexed by Op.
const NumOps = int(opCount)

// IsLoad reports a plain (non-atomic) load.
func (o Op) IsLoad() bool { return o >= OpLoad8 && o <= OpLoad64 }

// IsStore reports a plain store.
func (o Op) IsStore() bool { return o >= OpStore8 && o <= OpStore64 }

// IsAtomic reports an atomic read-modify-write.
func (o Op) IsAtomic() bool { return o >= OpAtomicAdd32 && o <= OpAtomicCmpXchg64 }

// MemSize is the access size in bytes of a load, store or atomic, 0 otherwise.
func (o Op) MemSize() int {
	switch o {
	case OpLoad8, OpLoadS8, OpStore8:
		return 1
	case OpLoad16, OpLoadS16, OpStore16:
		return 2
	case OpLoad32, OpStore32, OpAtomicAdd32, OpAtomicOr32, OpAtomicAnd32, OpAtomicXor32, OpAtomicXchg32, OpAtomicCmpXchg32:
		return 4
	case OpLoad64, OpStore64, OpAtomicAdd64, OpAtomicOr64, OpAtomicAnd64, OpAtomicXor64, OpAtomicXchg64, OpAtomicCmpXchg64:
		return 8
	}
	return 0
}
