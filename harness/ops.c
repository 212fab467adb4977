/* ops.c - decode, encode, print and parse op streams (the model is in ops.h).
 * Invariants: hop_decode never fails; every decoded op is canonical (fields an op
 * does not use are zero, kinds and slots are in range), and for canonical ops
 * hop_decode(hop_encode(ops)) == ops and hop_parse(hop_format(op)) == op. */
#include "ops.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

const uint64_t hop_wild_values[] = {
    0x4141414141414141ull,  /* non-canonical: any dereference faults */
    0xdeadbeefdeadbeefull,
    0x10ull,                /* the first page */
    0x1000ull,
    0x41414140ull,          /* low, 16-aligned */
    0x00007ffffffff000ull,  /* top of the user address space */
    0x0000100000000010ull,  /* canonical, 16-aligned, normally unmapped */
    0xffffffffffffff80ull,  /* kernel half */
    0x8ull,
    0x0000600000000000ull,
    0x7f0000000010ull,
    0x2ull,
};
const unsigned hop_nwild = sizeof hop_wild_values / sizeof hop_wild_values[0];

#define HOP_HUGE_MIN (4ull << 20)   /* the 'Z' tier of huge sizes starts here (ops.h) */
#define HOP_TRIM_GATE 16             /* a trim's byte is a trim if the next byte is below this (1/16), else a flush */

/* Sizes at class, tier and overflow boundaries. */
const uint64_t hop_edge_sizes[] = {
    0, 1, 8, 15, 16, 17, 31, 32, 33, 47, 48, 63, 64, 79, 95, 111,
    127, 128, 159, 191, 223, 255, 319, 383, 447, 511, 639, 767, 895, 1023, 1024, 1025,
    1039, 1279, 1280, 1281, 2047, 2048, 4095, 4096, 4097, 65535, 65536, 131071, 131072, 131073,
    262144, 1ull << 20, 2ull << 20, (2ull << 20) + 1, 16ull << 20, 1ull << 30,
    0x7fffffffffffffffull, 0x8000000000000000ull, 0xffffffffffffffffull, 0xfffffffffffffff0ull,
    1ull << 40, 1ull << 47, 0x7ffffffffffff000ull, 3, 7, 24, 40, 1000,
};
const unsigned hop_nedge = sizeof hop_edge_sizes / sizeof hop_edge_sizes[0];

/* Alignments for align bytes whose low 5 bits exceed 16 (invalid or unusual ones). */
static const uint32_t hop_odd_align[15] = {
    0, 3, 5, 24, 48, 96, 100, 1000, 3000, 12288, 1u << 20, 1u << 21, 1u << 24, 0x80000000u, 6,
};

static const char *const hop_names[HOP_NCODES] = {
    "alloc", "calloc", "realloc", "aligned", "free", "usable", "write", "flush", "thread",
    "double_free", "free_old", "free_bad", "forge", "overflow", "underflow", "uaf_link",
    "uaf_write", "realloc_bad", "usable_bad", "poke", "attack", "hold", "edge", "trim",
};
/* Field layout of each op's bytes after the opcode byte (see ops.h). */
static const char *const hop_layout[HOP_NCODES] = {
    "sZf", "snZ", "sZf", "skAZ", "s", "s", "sf", "", "a",
    "s", "s", "ska", "sab", "sab", "sab", "sktab", "saV", "skaZ", "ska", "sktabV", "skt", "aZ", "skZ", "a",
};
static const char *const hop_poke_anchor[2] = { "start", "end" };
static const char *const hop_poke_src[3] = { "byte", "value", "copy" };
static const char *const hop_atk_names[HOP_ATK_N] = { "forge_df", "forge_link" };
static const char *const hop_edge_names[HOP_EDGE_N] = { "slab", "superslab" };
static const char *const hop_al_names[HOP_AL_N] = { "memalign", "posix_memalign", "aligned_alloc", "valloc", "pvalloc" };
static const char *const hop_bad_names[HOP_BAD_N] = {
    "freed", "interior", "misaligned", "stack", "global", "foreign", "other", "uncarved", "wild", "header",
};
static const char *const hop_link_names[HOP_LINK_N] = {
    "null", "wild", "slot", "stride", "global", "forged", "partial", "self", "foreign", "other",
};

/* Relative weight of each op in the random bytes of each dialect (sum <= 256, all >= 1,
 * so every op owns at least one opcode byte). An op added later takes its weight from
 * the op before it in hop_walk, so only that op's last byte values change meaning in
 * binary inputs (corpora stay what they were). */
static const uint8_t hop_weights[HOP_NDIALECTS][HOP_NCODES] = {
    /* alloc calloc realloc aligned free usable write flush thread | dfree fold fbad forge over under link uwrite rbad ubad
     * poke attack | hold edge | trim */
    [HOP_DIALECT_OPS]      = { 40, 6, 10, 4, 36, 4, 6, 8, 8,  8, 3, 8, 4, 6, 6, 14, 5, 5, 4,  10, 5,  1, 1,  1 },
    [HOP_DIALECT_FREELIST] = { 60, 2, 4, 1, 55, 1, 3, 16, 8,  6, 2, 2, 1, 2, 2, 40, 6, 2, 1,  8, 5,  1, 1,  1 },
    [HOP_DIALECT_HEADER]   = { 50, 3, 6, 3, 40, 3, 4, 6, 5,   10, 3, 24, 14, 14, 14, 3, 2, 6, 6,  12, 5,  1, 1,  1 },
};
/* The order in which the ops share out the byte values (see above). */
static const uint8_t hop_walk[HOP_NCODES] = {
    HOP_ALLOC, HOP_CALLOC, HOP_REALLOC, HOP_ALIGNED, HOP_FREE, HOP_USABLE, HOP_WRITE, HOP_FLUSH, HOP_THREAD,
    HOP_DOUBLE_FREE, HOP_FREE_OLD, HOP_FREE_BAD, HOP_FORGE, HOP_OVERFLOW, HOP_UNDERFLOW, HOP_UAF_LINK,
    HOP_UAF_WRITE, HOP_REALLOC_BAD, HOP_USABLE_BAD, HOP_POKE, HOP_ATTACK, HOP_TRIM, HOP_HOLD, HOP_EDGE,
};
static const char *const hop_dialect_names[HOP_NDIALECTS] = { "ops", "freelist", "header" };

static uint8_t hop_table[HOP_NDIALECTS][256];   /* opbyte -> code */
static uint8_t hop_inverse[HOP_NDIALECTS][HOP_NCODES];  /* code -> first opbyte */
static int hop_tables_ready;

static void hop_init_tables(void)
{
    if (hop_tables_ready) return;
    for (int d = 0; d < HOP_NDIALECTS; d++) {
        unsigned total = 0, cum = 0, c = 0;
        for (int i = 0; i < HOP_NCODES; i++) total += hop_weights[d][i];
        for (int i = 0; i < HOP_NCODES; i++) hop_inverse[d][i] = 0xFF;
        /* Walk the byte values in a scrambled order (167 is odd: a bijection) so that
         * bytes fuzzers like (0x00, 0xFF, 0x7F, ...) are not all one rare op. */
        for (unsigned j = 0; j < 256; j++) {
            unsigned x = j * total / 256, i = (j * 167u) & 255u;
            while (x >= cum + hop_weights[d][hop_walk[c]]) cum += hop_weights[d][hop_walk[c++]];
            hop_table[d][i] = hop_walk[c];
        }
        for (unsigned i = 0; i < 256; i++)
            if (hop_inverse[d][hop_table[d][i]] == 0xFF) hop_inverse[d][hop_table[d][i]] = (uint8_t)i;
    }
    hop_tables_ready = 1;
}

static unsigned hop_nkinds(int code)
{
    switch (code) {
    case HOP_ALIGNED: return HOP_AL_N;
    case HOP_FREE_BAD: case HOP_REALLOC_BAD: case HOP_USABLE_BAD: return HOP_BAD_N;
    case HOP_UAF_LINK: return HOP_LINK_N;
    case HOP_POKE: return HOP_POKE_N;
    case HOP_ATTACK: return HOP_ATK_N;
    case HOP_EDGE: return HOP_EDGE_N;
    default: return 1;
    }
}

static int hop_bad_uses_a(int k)
{
    return k == HOP_BAD_INTERIOR || k == HOP_BAD_MISALIGNED || k == HOP_BAD_GLOBAL ||
           k == HOP_BAD_UNCARVED || k == HOP_BAD_WILD || k == HOP_BAD_HEADER;
}

/* Zero what the op does not use, so equal meaning means equal struct. */
static void hop_canon(hop *op)
{
    switch (op->code) {
    case HOP_ALIGNED:
        if (op->k == HOP_AL_VALLOC || op->k == HOP_AL_PVALLOC) op->align = 1;
        break;
    case HOP_FREE_BAD: case HOP_REALLOC_BAD: case HOP_USABLE_BAD:
        if (!hop_bad_uses_a(op->k)) op->a = 0;
        break;
    case HOP_UAF_LINK:
        if (op->k != HOP_LINK_SLOT && op->k != HOP_LINK_STRIDE && op->k != HOP_LINK_FORGED) op->t = 0;
        if (op->k != HOP_LINK_FORGED) op->b = 0;
        if (op->k == HOP_LINK_NULL || op->k == HOP_LINK_SELF || op->k == HOP_LINK_FOREIGN ||
            op->k == HOP_LINK_OTHER) op->a = 0;
        break;
    case HOP_POKE:
        if (op->k % 3 != 2) op->t = 0;
        if (op->k % 3 == 0) op->val &= 0xFF;
        if (op->k % 3 == 2) op->val = 0;
        break;
    case HOP_ATTACK:
        if (op->k != HOP_ATK_FORGE_LINK) op->t = 0;
        break;
    case HOP_FLUSH: case HOP_TRIM: op->a = 0; break;
    default: break;
    }
}

static uint64_t hop_size_decode(const uint8_t b[4])
{
    uint32_t v = (uint32_t)b[1] | (uint32_t)b[2] << 8 | (uint32_t)b[3] << 16;
    unsigned sel = b[0] % 32;
    if (sel <= 15) return v % 129;
    if (sel <= 25) return v % 1025;
    if (sel <= 28) return 1025 + v % (131072 - 1024);
    if (sel <= 30) return hop_edge_sizes[v % hop_nedge];
    if (v >> 20 == 0xF) return HOP_HUGE_MIN + 64 * (uint64_t)(v % (1u << 20));
    return 131073 + v % (1u << 20);
}

static int hop_size_encode(uint64_t s, uint8_t b[4])
{
    uint32_t v;
    if (s <= 128) { b[0] = 0; v = (uint32_t)s; }
    else if (s <= 1024) { b[0] = 16; v = (uint32_t)s; }
    else if (s <= 131072) { b[0] = 26; v = (uint32_t)(s - 1025); }
    else if (s < 131073 + (1u << 20)) { b[0] = 31; v = (uint32_t)(s - 131073); }
    else if (s >= HOP_HUGE_MIN && s % 64 == 0 && (s - HOP_HUGE_MIN) / 64 < (1u << 20)) {
        b[0] = 31; v = 0xF00000u | (uint32_t)((s - HOP_HUGE_MIN) / 64);
    } else {
        unsigned i;
        for (i = 0; i < hop_nedge && hop_edge_sizes[i] != s; i++) {}
        if (i == hop_nedge) return -1;
        b[0] = 29; v = i;
    }
    b[1] = (uint8_t)v; b[2] = (uint8_t)(v >> 8); b[3] = (uint8_t)(v >> 16);
    return 0;
}

static uint32_t hop_align_decode(uint8_t b)
{
    unsigned l = b & 31;
    return l <= 16 ? 1u << l : hop_odd_align[l - 17];
}

static int hop_align_encode(uint32_t al, uint8_t *b)
{
    for (unsigned l = 0; l <= 16; l++) if (al == 1u << l) { *b = (uint8_t)l; return 0; }
    for (unsigned i = 0; i < 15; i++) if (al == hop_odd_align[i]) { *b = (uint8_t)(17 + i); return 0; }
    return -1;
}

int hop_decode(hop_dialect d, const uint8_t *data, size_t size, hop *ops, int max)
{
    hop_init_tables();
    if ((unsigned)d >= HOP_NDIALECTS) d = HOP_DIALECT_OPS;
    size_t i = 0;
    int n = 0;
#define NEXT() (i < size ? data[i++] : (i++, (uint8_t)0))
    while (i < size && n < max) {
        hop *op = &ops[n++];
        memset(op, 0, sizeof *op);
        op->code = hop_table[d][data[i++]];
        for (const char *f = hop_layout[op->code]; *f; f++) {
            switch (*f) {
            case 's': op->s = NEXT() % HOP_NSLOTS; break;
            case 't': op->t = NEXT() % HOP_NSLOTS; break;
            case 'k': op->k = (uint8_t)(NEXT() % hop_nkinds(op->code)); break;
            case 'a': op->a = NEXT(); break;
            case 'b': op->b = NEXT(); break;
            case 'f': op->fill = NEXT(); break;
            case 'n': op->n = NEXT(); break;
            case 'A': op->align = hop_align_decode(NEXT()); break;
            case 'Z': { uint8_t b[4]; for (int j = 0; j < 4; j++) b[j] = NEXT(); op->size = hop_size_decode(b); break; }
            case 'V': { uint64_t v = 0; for (int j = 0; j < 8; j++) v |= (uint64_t)NEXT() << (8 * j); op->val = v; break; }
            }
        }
        if (op->code == HOP_THREAD) op->a %= HOP_NTHREADS;
        if (op->code == HOP_OVERFLOW || op->code == HOP_UNDERFLOW) op->a = (uint8_t)(1 + op->a % 64);
        if (op->code == HOP_POKE) op->b = (uint8_t)(1 + op->b % 16);
        if (op->code == HOP_HOLD) op->a %= 16;   /* 16..256 blocks: a layout, not a stress test */
        /* A trim drops every free page, and the streams after it fault them back in (5x
         * the page faults with one trim per 256 op bytes): its byte is a trim only when
         * the next one is below HOP_TRIM_GATE, else a flush. */
        if (op->code == HOP_TRIM && op->a >= HOP_TRIM_GATE) op->code = HOP_FLUSH;
        hop_canon(op);
    }
#undef NEXT
    return n;
}

long hop_encode(hop_dialect d, const hop *ops, int n, uint8_t *out, size_t cap)
{
    hop_init_tables();
    if ((unsigned)d >= HOP_NDIALECTS) d = HOP_DIALECT_OPS;
    size_t o = 0;
#define PUT(x) do { if (o >= cap) return -1; out[o++] = (uint8_t)(x); } while (0)
    for (int i = 0; i < n; i++) {
        const hop *op = &ops[i];
        if (op->code >= HOP_NCODES) return -1;
        PUT(hop_inverse[d][op->code]);
        for (const char *f = hop_layout[op->code]; *f; f++) {
            switch (*f) {
            case 's': PUT(op->s); break;
            case 't': PUT(op->t); break;
            case 'k': PUT(op->k); break;
            case 'a':
                if (op->code == HOP_OVERFLOW || op->code == HOP_UNDERFLOW) PUT(op->a - 1);
                else PUT(op->a);
                break;
            case 'b': PUT(op->code == HOP_POKE ? op->b - 1 : op->b); break;
            case 'f': PUT(op->fill); break;
            case 'n': PUT(op->n); break;
            case 'A': { uint8_t b; if (hop_align_encode(op->align, &b)) return -1; PUT(b); break; }
            case 'Z': { uint8_t b[4]; if (hop_size_encode(op->size, b)) return -1; for (int j = 0; j < 4; j++) PUT(b[j]); break; }
            case 'V': for (int j = 0; j < 8; j++) PUT(op->val >> (8 * j)); break;
            }
        }
    }
#undef PUT
    return (long)o;
}

int hop_base_class(const hop *op)
{
    switch (op->code) {
    case HOP_DOUBLE_FREE: case HOP_FREE_OLD: return HOP_F1;
    case HOP_FREE_BAD: return op->k == HOP_BAD_FREED ? HOP_F1 : HOP_F2;
    case HOP_FORGE: return HOP_F3;
    case HOP_OVERFLOW: return HOP_F4;
    case HOP_UNDERFLOW: return HOP_F5;
    case HOP_UAF_LINK: case HOP_UAF_WRITE: return HOP_F6;
    case HOP_REALLOC_BAD: case HOP_USABLE_BAD: return HOP_F8;
    case HOP_POKE: return op->k % 3 == 2 || op->k >= HOP_POKE_END_BYTE ? HOP_F4 : HOP_F5;   /* decided at replay */
    case HOP_ATTACK: return op->k == HOP_ATK_FORGE_DF ? HOP_F1 : HOP_F6;
    default: return HOP_F_NONE;
    }
}

const char *hop_code_name(int code) { return code >= 0 && code < HOP_NCODES ? hop_names[code] : "?"; }
const char *hop_dialect_name(hop_dialect d) { return (unsigned)d < HOP_NDIALECTS ? hop_dialect_names[d] : "?"; }

int hop_dialect_from_name(const char *name)
{
    if (!strncmp(name, "fuzz_", 5)) name += 5;
    for (int d = 0; d < HOP_NDIALECTS; d++) if (!strcmp(name, hop_dialect_names[d])) return d;
    return -1;
}

/* ---- text form --------------------------------------------------------------------- */

static void hop_fmt_bad(char *b, size_t cap, int k, uint8_t a)
{
    if (hop_bad_uses_a(k)) snprintf(b, cap, "%s %u", hop_bad_names[k], a);
    else snprintf(b, cap, "%s", hop_bad_names[k]);
}

static void hop_fmt_tag(char *b, size_t cap, uint8_t v)
{
    if (v == 0) snprintf(b, cap, "own");
    else if (v == 1) snprintf(b, cap, "own64");
    else snprintf(b, cap, "0x%02x", v);
}

const char *hop_format(const hop *op, char *buf, size_t cap)
{
    char x[64], y[16];
    const char *nm = hop_code_name(op->code);
    switch (op->code) {
    case HOP_ALLOC: case HOP_REALLOC:
        snprintf(buf, cap, "%s %u %llu fill 0x%02x", nm, op->s, (unsigned long long)op->size, op->fill); break;
    case HOP_CALLOC:
        snprintf(buf, cap, "calloc %u %u %llu", op->s, op->n, (unsigned long long)op->size); break;
    case HOP_ALIGNED:
        if (op->k == HOP_AL_VALLOC || op->k == HOP_AL_PVALLOC)
            snprintf(buf, cap, "%s %u %llu", hop_al_names[op->k], op->s, (unsigned long long)op->size);
        else
            snprintf(buf, cap, "%s %u %u %llu", hop_al_names[op->k], op->s, op->align, (unsigned long long)op->size);
        break;
    case HOP_FREE: case HOP_USABLE: case HOP_DOUBLE_FREE: case HOP_FREE_OLD:
        snprintf(buf, cap, "%s %u", nm, op->s); break;
    case HOP_WRITE: snprintf(buf, cap, "write %u fill 0x%02x", op->s, op->fill); break;
    case HOP_FLUSH: snprintf(buf, cap, "flush"); break;
    case HOP_TRIM: snprintf(buf, cap, "trim"); break;
    case HOP_THREAD: snprintf(buf, cap, "thread %u", op->a); break;
    case HOP_FREE_BAD: case HOP_USABLE_BAD:
        hop_fmt_bad(x, sizeof x, op->k, op->a);
        snprintf(buf, cap, "%s %u %s", nm, op->s, x); break;
    case HOP_REALLOC_BAD:
        hop_fmt_bad(x, sizeof x, op->k, op->a);
        snprintf(buf, cap, "realloc_bad %u %s %llu", op->s, x, (unsigned long long)op->size); break;
    case HOP_FORGE:
        hop_fmt_tag(y, sizeof y, op->b);
        snprintf(buf, cap, "forge %u %u %s", op->s, op->a, y); break;
    case HOP_OVERFLOW: case HOP_UNDERFLOW:
        snprintf(buf, cap, "%s %u %u 0x%02x", nm, op->s, op->a, op->b); break;
    case HOP_UAF_WRITE:
        snprintf(buf, cap, "uaf_write %u %u 0x%016llx", op->s, op->a, (unsigned long long)op->val); break;
    case HOP_UAF_LINK:
        switch (op->k) {
        case HOP_LINK_WILD: snprintf(x, sizeof x, "wild %u", op->a); break;
        case HOP_LINK_SLOT: snprintf(x, sizeof x, "slot %u %+d", op->t, (int8_t)op->a); break;
        case HOP_LINK_STRIDE: snprintf(x, sizeof x, "stride %u %+d", op->t, (int8_t)op->a); break;
        case HOP_LINK_GLOBAL: hop_fmt_tag(y, sizeof y, op->a); snprintf(x, sizeof x, "global %s", y); break;
        case HOP_LINK_FORGED: hop_fmt_tag(y, sizeof y, op->b); snprintf(x, sizeof x, "forged %u %u %s", op->t, op->a, y); break;
        case HOP_LINK_PARTIAL: snprintf(x, sizeof x, "partial 0x%02x", op->a); break;
        default: snprintf(x, sizeof x, "%s", hop_link_names[op->k % HOP_LINK_N]); break;
        }
        snprintf(buf, cap, "uaf_link %u %s", op->s, x); break;
    case HOP_POKE:
        if (op->k % 3 == 0) snprintf(x, sizeof x, "byte 0x%02x", (unsigned)op->val);
        else if (op->k % 3 == 1) snprintf(x, sizeof x, "value 0x%016llx", (unsigned long long)op->val);
        else snprintf(x, sizeof x, "copy %u", op->t);
        snprintf(buf, cap, "poke %u %s %+d %u %s", op->s, hop_poke_anchor[op->k / 3 % 2], (int8_t)op->a, op->b, x); break;
    case HOP_ATTACK:
        if (op->k == HOP_ATK_FORGE_LINK) snprintf(buf, cap, "attack %s %u %u", hop_atk_names[op->k], op->s, op->t);
        else snprintf(buf, cap, "attack %s %u", hop_atk_names[op->k % HOP_ATK_N], op->s);
        break;
    case HOP_HOLD: snprintf(buf, cap, "hold %u %llu", 16u * (op->a + 1u), (unsigned long long)op->size); break;   /* a < 16 */
    case HOP_EDGE:
        snprintf(buf, cap, "edge %u %llu %s", op->s, (unsigned long long)op->size, hop_edge_names[op->k % HOP_EDGE_N]); break;
    default: snprintf(buf, cap, "?"); break;
    }
    return buf;
}

typedef struct hop_lex { char tok[12][40]; int n; } hop_lex;

static int hop_num(const char *s, uint64_t *v)
{
    char *end;
    if (!*s) return -1;
    errno = 0;
    if (*s == '-' || *s == '+') {
        long long x = strtoll(s, &end, 0);
        if (*end || errno) return -1;
        *v = (uint64_t)x;
        return 0;
    }
    unsigned long long x = strtoull(s, &end, 0);
    if (*end || errno) return -1;
    *v = x;
    return 0;
}

static int hop_in_range(uint64_t v, uint64_t lo, uint64_t hi) { return v >= lo && v <= hi; }

static int hop_kind_of(const char *s, const char *const *names, int n)
{
    for (int i = 0; i < n; i++) if (!strcmp(s, names[i])) return i;
    return -1;
}

#define FAIL(...) do { snprintf(err, errcap, __VA_ARGS__); return -1; } while (0)

int hop_parse_line(const char *line, hop *op, char *err, size_t errcap)
{
    hop_lex L = { .n = 0 };
    const char *p = line;
    while (*p && *p != '#' && *p != '\n') {
        while (*p == ' ' || *p == '\t' || *p == '\r') p++;
        if (!*p || *p == '#' || *p == '\n') break;
        if (L.n == 12) FAIL("too many words");
        size_t l = 0;
        while (*p && !isspace((unsigned char)*p) && *p != '#') {
            if (l + 1 >= sizeof L.tok[0]) FAIL("word too long");
            L.tok[L.n][l++] = *p++;
        }
        L.tok[L.n++][l] = 0;
    }
    if (L.n == 0) return 0;
    memset(op, 0, sizeof *op);
    int w = 1;   /* next word */
    uint64_t v;
#define WORD() (w < L.n ? L.tok[w++] : "")
#define NUM(dst, lo, hi, what) do { const char *t_ = WORD();                              \
        if (hop_num(t_, &v) || !hop_in_range(v, (lo), (hi))) {                             \
            FAIL("bad %s '%s'", what, t_);                                                 \
        }                                                                                  \
        dst = v;                                                                           \
    } while (0)
#define UNUM(dst, hi, what) NUM(dst, 0, hi, what)
#define TAG(dst) do { const char *t_ = WORD();                                             \
        if (!strcmp(t_, "own")) { dst = 0; }                                               \
        else if (!strcmp(t_, "own64")) { dst = 1; }                                        \
        else if (hop_num(t_, &v) || v > 255) { FAIL("bad tag '%s'", t_); }                 \
        else { dst = (uint8_t)v; }                                                         \
    } while (0)
    const char *w0 = L.tok[0];
    int al = hop_kind_of(w0, hop_al_names, HOP_AL_N);
    if (al >= 0) {
        op->code = HOP_ALIGNED; op->k = (uint8_t)al;
        UNUM(op->s, HOP_NSLOTS - 1, "slot");
        if (al == HOP_AL_VALLOC || al == HOP_AL_PVALLOC) op->align = 1;
        else { UNUM(op->align, 0xffffffffu, "alignment"); uint8_t b; if (hop_align_encode(op->align, &b)) FAIL("alignment %u not encodable", op->align); }
        UNUM(op->size, UINT64_MAX, "size");
    } else {
        int code = hop_kind_of(w0, hop_names, HOP_NCODES);
        if (code < 0 || code == HOP_ALIGNED) FAIL("unknown op '%s'", w0);
        op->code = (uint8_t)code;
        if (code == HOP_ATTACK) {
            const char *t = WORD();
            int k = hop_kind_of(t, hop_atk_names, HOP_ATK_N);
            if (k < 0) FAIL("unknown attack '%s'", t);
            op->k = (uint8_t)k;
        }
        if (code != HOP_FLUSH && code != HOP_TRIM && code != HOP_THREAD && code != HOP_HOLD) UNUM(op->s, HOP_NSLOTS - 1, "slot");
        switch (code) {
        case HOP_ALLOC: case HOP_REALLOC:
            UNUM(op->size, UINT64_MAX, "size");
            if (w < L.n) { if (strcmp(WORD(), "fill")) FAIL("expected 'fill'"); UNUM(op->fill, 255, "fill"); }
            break;
        case HOP_CALLOC: UNUM(op->n, 255, "count"); UNUM(op->size, UINT64_MAX, "size"); break;
        case HOP_WRITE: if (strcmp(WORD(), "fill")) FAIL("expected 'fill'"); UNUM(op->fill, 255, "fill"); break;
        case HOP_THREAD: UNUM(op->a, HOP_NTHREADS - 1, "thread"); break;
        case HOP_FREE_BAD: case HOP_REALLOC_BAD: case HOP_USABLE_BAD: {
            const char *t = WORD();
            int k = hop_kind_of(t, hop_bad_names, HOP_BAD_N);
            if (k < 0) FAIL("unknown bad pointer '%s'", t);
            op->k = (uint8_t)k;
            if (hop_bad_uses_a(k)) {
                if (k == HOP_BAD_GLOBAL) TAG(op->a); else UNUM(op->a, 255, "argument");
            }
            if (code == HOP_REALLOC_BAD) UNUM(op->size, UINT64_MAX, "size");
            break;
        }
        case HOP_FORGE: UNUM(op->a, 255, "block offset"); TAG(op->b); break;
        case HOP_OVERFLOW: case HOP_UNDERFLOW:
            NUM(op->a, 1, 64, "byte count"); UNUM(op->b, 255, "byte"); break;
        case HOP_UAF_WRITE: UNUM(op->a, 255, "offset"); UNUM(op->val, UINT64_MAX, "value"); break;
        case HOP_POKE: {
            const char *t = WORD();
            int an = hop_kind_of(t, hop_poke_anchor, 2);
            if (an < 0) FAIL("expected start or end, not '%s'", t);
            t = WORD();
            if (hop_num(t, &v) || (int64_t)v < -128 || (int64_t)v > 127) FAIL("bad offset '%s'", t);
            op->a = (uint8_t)(int8_t)(int64_t)v;
            NUM(op->b, 1, 16, "length");
            t = WORD();
            int src = hop_kind_of(t, hop_poke_src, 3);
            if (src < 0) FAIL("expected byte, value or copy, not '%s'", t);
            op->k = (uint8_t)(an * 3 + src);
            if (src == 0) UNUM(op->val, 255, "byte");
            else if (src == 1) UNUM(op->val, UINT64_MAX, "value");
            else UNUM(op->t, HOP_NSLOTS - 1, "slot");
            break;
        }
        case HOP_ATTACK: if (op->k == HOP_ATK_FORGE_LINK) UNUM(op->t, HOP_NSLOTS - 1, "slot"); break;
        case HOP_HOLD: {
            uint64_t cnt;
            NUM(cnt, 16, 256, "block count");
            if (cnt % 16) FAIL("block count %llu is not a multiple of 16", (unsigned long long)cnt);
            op->a = (uint8_t)(cnt / 16 - 1);
            UNUM(op->size, UINT64_MAX, "size");
            break;
        }
        case HOP_EDGE: {
            UNUM(op->size, UINT64_MAX, "size");
            const char *t = WORD();
            int k = hop_kind_of(t, hop_edge_names, HOP_EDGE_N);
            if (k < 0) FAIL("expected slab or superslab, not '%s'", t);
            op->k = (uint8_t)k;
            break;
        }
        case HOP_UAF_LINK: {
            const char *t = WORD();
            int k = hop_kind_of(t, hop_link_names, HOP_LINK_N);
            if (k < 0) FAIL("unknown link target '%s'", t);
            op->k = (uint8_t)k;
            switch (k) {
            case HOP_LINK_WILD: UNUM(op->a, 255, "wild index"); break;
            case HOP_LINK_SLOT: case HOP_LINK_STRIDE:
                UNUM(op->t, HOP_NSLOTS - 1, "slot");
                { const char *t_ = WORD();
                  if (hop_num(t_, &v) || (int64_t)v < -128 || (int64_t)v > 127) FAIL("bad offset '%s'", t_);
                  op->a = (uint8_t)(int8_t)(int64_t)v; }
                break;
            case HOP_LINK_GLOBAL: TAG(op->a); break;
            case HOP_LINK_FORGED: UNUM(op->t, HOP_NSLOTS - 1, "slot"); UNUM(op->a, 255, "block offset"); TAG(op->b); break;
            case HOP_LINK_PARTIAL: UNUM(op->a, 255, "byte"); break;
            default: break;
            }
            break;
        }
        default: break;
        }
        if ((code == HOP_ALLOC || code == HOP_REALLOC || code == HOP_CALLOC || code == HOP_REALLOC_BAD ||
             code == HOP_HOLD || code == HOP_EDGE)) {
            uint8_t b[4];
            if (hop_size_encode(op->size, b)) FAIL("size %llu not encodable (see hop_edge_sizes)", (unsigned long long)op->size);
        }
    }
    if (w < L.n) FAIL("unexpected '%s'", L.tok[w]);
    hop_canon(op);
    return 1;
#undef WORD
#undef NUM
#undef UNUM
#undef TAG
}

int hop_parse_text(const char *text, size_t len, hop *ops, int max, char *err, size_t errcap)
{
    int n = 0, lineno = 0;
    size_t i = 0;
    char line[512], e[200];
    while (i < len) {
        size_t j = i;
        while (j < len && text[j] != '\n') j++;
        size_t l = j - i < sizeof line - 1 ? j - i : sizeof line - 1;
        memcpy(line, text + i, l);
        line[l] = 0;
        lineno++;
        i = j + 1;
        hop op;
        int r = hop_parse_line(line, &op, e, sizeof e);
        if (r < 0) { snprintf(err, errcap, "line %d: %s", lineno, e); return -1; }
        if (r == 0) continue;
        if (n == max) { snprintf(err, errcap, "line %d: more than %d ops", lineno, max); return -1; }
        ops[n++] = op;
    }
    return n;
}
#undef FAIL

int hop_is_text(const uint8_t *data, size_t size)
{
    size_t m = sizeof HOP_TEXT_MAGIC - 1;
    return size >= m && !memcmp(data, HOP_TEXT_MAGIC, m);
}

void hop_write_text(FILE *f, const hop *ops, int n)
{
    char b[160];
    fprintf(f, "%s\n", HOP_TEXT_MAGIC);
    for (int i = 0; i < n; i++) fprintf(f, "%s\n", hop_format(&ops[i], b, sizeof b));
}
