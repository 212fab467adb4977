/* ops.h - the op-stream model of the fuzz harness: what one input means.
 *
 * An input is a list of ops (at most HOP_MAX). Ops address blocks through slots
 * (HOP_NSLOTS of them), never through addresses, so a stream means the same thing
 * against every build and stays meaningful when a fuzzer mutates it.
 *
 * Binary encoding (what fuzzers mutate). ANY byte string decodes to a valid list:
 *   input := op*            (decoding stops at the end of the data or at HOP_MAX ops)
 *   op    := opbyte field*  opcode = dialect_table[opbyte]; each opcode has a fixed
 *                           field layout (hop_layout); a missing byte reads as 0.
 *   field 's'/'t' slot      byte % HOP_NSLOTS
 *         'k'     kind      byte % (number of kinds of that op)
 *         'a','b' argument  raw byte (meaning per op, see the text form below)
 *         'f'     fill      user-data pattern: bits 7..5 kind, bit 4 extent, 3..0 seed
 *         'Z'     size      4 bytes: tier selector, then a 24-bit little-endian value
 *                           tier = sel % 32: 0-15 small tiny (v % 129), 16-25 tiny
 *                           (v % 1025), 26-28 mid (1025 + v % 130048), 29-30 edge
 *                           (hop_edge_sizes[v % N]), 31 large (131073 + v % 2^20;
 *                           when v's top 4 bits are all set, huge: 4 MiB +
 *                           64 * (v % 2^20), up to 68 MiB, beyond a large region);
 *                           large blocks are mmap'ed, so they are kept rare
 *         'A'     align     1 << (b & 31) if (b & 31) <= 16, else an odd value
 *         'V'     value     8 bytes little-endian
 * A dialect (one per fuzz target) only changes the opcode table, i.e. how often each
 * op appears in random bytes; every dialect can express every op, and the text form
 * is the same for all of them.
 *
 * Text form (one op a line, '#' starts a comment; the first line of a text file is
 * "#hakmem-ops"): see hop_format / hop_parse_line, e.g.
 *   alloc 3 512 fill 0x20     free 3      thread 1     uaf_link 3 slot 5 +0
 */
#ifndef HAKMEM_FUZZ_OPS_H
#define HAKMEM_FUZZ_OPS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define HOP_MAX      512   /* ops per stream */
#define HOP_NSLOTS   64    /* block slots */
#define HOP_NTHREADS 4     /* thread 0 is the replaying thread, 1..3 are workers */
#define HOP_TEXT_MAGIC "#hakmem-ops"

typedef enum hop_code {
    /* ordinary ops: never a fault */
    HOP_ALLOC, HOP_CALLOC, HOP_REALLOC, HOP_ALIGNED, HOP_FREE, HOP_USABLE, HOP_WRITE,
    HOP_FLUSH, HOP_THREAD,
    /* faults (behind the allocator's back) */
    HOP_DOUBLE_FREE,   /* F1 free the slot's dangling pointer again */
    HOP_FREE_OLD,      /* F1 free the pointer a moving realloc already freed */
    HOP_FREE_BAD,      /* F2 free of a bad pointer (hop_bad kinds) */
    HOP_FORGE,         /* F3 write a tag into the own block, free the address after it */
    HOP_OVERFLOW,      /* F4 write k bytes past the usable size */
    HOP_UNDERFLOW,     /* F5 write the byte at p-k (k=1: the own tag) */
    HOP_UAF_LINK,      /* F6 overwrite a freed block's link (hop_link kinds) */
    HOP_UAF_WRITE,     /* F6 write 8 bytes at an offset of a freed block */
    HOP_REALLOC_BAD,   /* F8 realloc of a freed or bad pointer */
    HOP_USABLE_BAD,    /* F8 malloc_usable_size of a freed or bad pointer */
    HOP_POKE,          /* F4/F5/F6 write 1..16 bytes anywhere around a slot's block (hop_poke kinds) */
    HOP_ATTACK,        /* multi-step attack in one op (hop_attack kinds) */
    /* layout builders: ordinary ops */
    HOP_HOLD,          /* allocate n (16..256) blocks of a size, held (not in slots) until the stream ends */
    HOP_EDGE,          /* hold blocks of a size until one ends at a slab or SuperSlab boundary: the slot's */
    HOP_TRIM,          /* malloc_trim(0): the heap gives back what it can (empty SuperSlabs and regions, cached mappings) */
    HOP_NCODES
} hop_code;

/* Allocation functions of HOP_ALIGNED. */
enum { HOP_AL_MEMALIGN, HOP_AL_POSIX, HOP_AL_ALIGNED_ALLOC, HOP_AL_VALLOC, HOP_AL_PVALLOC, HOP_AL_N };

/* Bad pointers (free_bad, realloc_bad, usable_bad), derived from slot s. */
enum {
    HOP_BAD_FREED,      /* s's dangling pointer (for free_bad: a double free) */
    HOP_BAD_INTERIOR,   /* p + 16 * (1 + a % n) inside the block */
    HOP_BAD_MISALIGNED, /* p + 1 + a % 15 */
    HOP_BAD_STACK,      /* a 16-aligned address on the replaying thread's stack */
    HOP_BAD_GLOBAL,     /* a 16-aligned global whose byte before is a (0: s's ALLOC tag) */
    HOP_BAD_FOREIGN,    /* a block of the C library's own heap */
    HOP_BAD_OTHER,      /* a live block of the other build's heap */
    HOP_BAD_UNCARVED,   /* p + (1 + a % 64) strides: past the live blocks of the slab */
    HOP_BAD_WILD,       /* hop_wild_values[a % N] */
    HOP_BAD_HEADER,     /* p - 16 * (1 + a % 4): into the block's header (a large block's 64 bytes) */
    HOP_BAD_N
};

/* Link targets of uaf_link (written into freed slot s's first 8 bytes). */
enum {
    HOP_LINK_NULL,      /* NULL: cuts the list */
    HOP_LINK_WILD,      /* hop_wild_values[a % N] */
    HOP_LINK_SLOT,      /* slot t's pointer + (int8)a bytes (t live or freed) */
    HOP_LINK_STRIDE,    /* slot t's pointer + (int8)a strides */
    HOP_LINK_GLOBAL,    /* a global fake block whose tag is a (0: s's class, FREE family) */
    HOP_LINK_FORGED,    /* inside live slot t at +16*(1 + a % n), tag b (0: s's FREE tag) */
    HOP_LINK_PARTIAL,   /* 1-byte overwrite: low byte of the link := a */
    HOP_LINK_SELF,      /* the block itself: a cycle */
    HOP_LINK_FOREIGN,   /* a block of the C library's heap */
    HOP_LINK_OTHER,     /* a block of the other build's heap */
    HOP_LINK_N
};

/* poke s ANCHOR OFF LEN SRC: write LEN (1..16) bytes at ANCHOR + (int8)OFF, where
 * ANCHOR is the block start (p) or the next block's start (p + usable + 1: "end -1" is
 * the byte right after the usable size). SRC: a repeated byte, an 8-byte value
 * (repeated), or a copy of slot t's bytes at the same offset from t's start (t's own
 * header, tag, link: a forgery that needs no knowledge of the layout). A write that
 * stays inside a live block is the user's right, not a fault, and is not done. The
 * class follows from where it lands: before a live block F5, past it F4, into a freed
 * block F6 (F7 if the block was freed by another thread). */
enum { HOP_POKE_START_BYTE, HOP_POKE_START_VALUE, HOP_POKE_START_COPY,
       HOP_POKE_END_BYTE, HOP_POKE_END_VALUE, HOP_POKE_END_COPY, HOP_POKE_N };
/* attack kinds (ArcHeap / HeapHopper style sequences, each one op):
 *   forge_df s:     write back freed s's 16 header bytes as they were while it was live
 *                   (p-16 .. p-1), then free s again (F1 after a forgery);
 *   forge_link s t: copy freed s's 16 header bytes onto live t's, then point s's link at
 *                   t (F6: a refill would hand out the live block). */
enum { HOP_ATK_FORGE_DF, HOP_ATK_FORGE_LINK, HOP_ATK_N };
/* edge modes: the boundary the slot's block must end next to (within 48 bytes); it gives
 * up after HOP_EDGE_TRIES blocks or HOP_HOLD_BYTES bytes, so a SuperSlab's end is reached
 * with sizes of about 512 bytes and more. */
enum { HOP_EDGE_SLAB, HOP_EDGE_SUPERSLAB, HOP_EDGE_N };
#define HOP_HOLD_MAX (1u << 16)   /* held blocks per stream, at most */
#define HOP_EDGE_TRIES 4096       /* blocks an edge op holds before it gives up (larger sizes reach a SuperSlab's end) */
#define HOP_EDGE_MISSES 2         /* tiny slabs whose last block missed the boundary before an edge op gives up */
#define HOP_HOLD_BYTES (6u << 20) /* usable bytes a hold or edge op holds at most (a SuperSlab and a half) */

/* Fault classes (0 = not a fault), from the one table in fault_classes.def. */
enum {
#define HOP_FAULT_CLASS(num, id, name, what) HOP_FC_##num = num,
#include "fault_classes.def"
#undef HOP_FAULT_CLASS
    HOP_NCLASSES
};
enum { HOP_F_NONE = HOP_FC_0, HOP_F1 = HOP_FC_1, HOP_F2 = HOP_FC_2, HOP_F3 = HOP_FC_3, HOP_F4 = HOP_FC_4,
       HOP_F5 = HOP_FC_5, HOP_F6 = HOP_FC_6, HOP_F7 = HOP_FC_7, HOP_F8 = HOP_FC_8 };


typedef struct hop {
    uint8_t  code;   /* hop_code */
    uint8_t  s;      /* slot */
    uint8_t  t;      /* second slot (uaf_link) */
    uint8_t  k;      /* kind (aligned fn, bad pointer, link target) */
    uint8_t  a, b;   /* arguments */
    uint8_t  fill;   /* fill pattern */
    uint8_t  n;      /* calloc count */
    uint32_t align;  /* aligned: alignment */
    uint64_t size;   /* alloc/calloc/realloc/aligned/realloc_bad: size */
    uint64_t val;    /* uaf_write: value */
} hop;

typedef enum hop_dialect { HOP_DIALECT_OPS, HOP_DIALECT_FREELIST, HOP_DIALECT_HEADER, HOP_NDIALECTS } hop_dialect;

/* Decode bytes into at most max ops; returns the op count. Never fails. */
int hop_decode(hop_dialect d, const uint8_t *data, size_t size, hop *ops, int max);
/* Encode ops; returns the byte count, or -1 if out is too small or an op cannot be
 * represented (a size outside every tier and not an edge size). */
long hop_encode(hop_dialect d, const hop *ops, int n, uint8_t *out, size_t cap);

/* Text form. hop_format writes one op (no newline) and returns buf. */
const char *hop_format(const hop *op, char *buf, size_t cap);
/* Parse one line. Returns 1 (op parsed), 0 (blank/comment), -1 (error: message in err). */
int hop_parse_line(const char *line, hop *op, char *err, size_t errcap);
/* Parse a whole text (with or without the magic line). Returns the op count or -1
 * (err names the line). */
int hop_parse_text(const char *text, size_t len, hop *ops, int max, char *err, size_t errcap);
/* 1 if data starts with HOP_TEXT_MAGIC. */
int hop_is_text(const uint8_t *data, size_t size);
/* Write ops as a text file body (with the magic line). */
void hop_write_text(FILE *f, const hop *ops, int n);

/* The fault class an op has by its code (F7 is decided at replay time). */
int hop_base_class(const hop *op);
const char *hop_code_name(int code);
const char *hop_dialect_name(hop_dialect d);
int hop_dialect_from_name(const char *name);   /* -1 if unknown; accepts "fuzz_freelist" too */

extern const uint64_t hop_wild_values[];
extern const unsigned hop_nwild;
extern const uint64_t hop_edge_sizes[];
extern const unsigned hop_nedge;

#endif
