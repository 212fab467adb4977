/* shapes.c - what each part of a thread cache's fast path costs under random_mixed's
 * loop, on this CPU, with nothing else in the way.
 *
 * Not an allocator: every shape serves the loop from blocks carved up front (20 size
 * classes with hakmem's tiny strides, 256 KiB of blocks each), so the only difference
 * between two shapes is the fast path itself: where the cached pointers live and which
 * bytes besides the block a malloc or a free touches. The loop is rmix's (256 slots,
 * sizes uniform in 16..1024, read the last byte before free, write the first and last
 * byte after malloc), calling malloc and free through pointers, as a preloaded
 * allocator is called. Shapes:
 *
 *   array              LIFO array of pointers per class, top pointer per class (hakmem's cache)
 *   list               intrusive LIFO list per class: the link is the block's first word
 *   split-list         two intrusive lists per class, malloc pops one and free pushes the
 *                      other, swapped when empty (mimalloc's free / local_free)
 *   array+state        array, and a state byte per 16-byte granule out of band: malloc
 *                      stores "allocated", free checks it and stores "cached" (hakmem's check)
 *   array+state+canary array+state, and free also checks a byte at p - 1
 *   array+malloc-store array, and only malloc's state store
 *   array+free-check   array, and only free's state load and compare
 *   array+late-store   array, and malloc stores to one hot byte per class whose address
 *                      depends on the popped pointer (a late address, a line in L1)
 *   array+hot-store    array, and malloc stores to one hot byte per class (early address)
 *   array+packed-state array+state with one state byte per block (offset >> log2 stride),
 *                      so far fewer state lines
 *   list+state+canary  list with array+state+canary's checks, and malloc checks the state
 *                      of the block a link named before it follows the link
 *
 *   shapes SHAPE [iterations]      (default 20000000)  |  shapes --list  |  shapes --help
 * Prints "RESULT shape=<name> ops=<n> ops_per_sec=<n> check=<n>"; exits 1 if a check
 * fails (a shape that lost a block state: a bug in this file). bench/shapes.py runs every
 * shape alternating and writes the table. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NCLS 20
#define CAP 300                 /* slots per class: more than the blocks of any class */
#define CLASS_SHIFT 18          /* 256 KiB of blocks per class */
#define CLASS_BYTES (1u << CLASS_SHIFT)
#define ST_ALLOC 2
#define ST_CACHED 3
#define CANARY 0xa5

static const unsigned stride[NCLS] = { 16, 32, 48, 64, 80, 96, 112, 128, 160, 192, 224,
                                       256, 320, 384, 448, 512, 640, 768, 896, 1040 };
static uint8_t class_of_size[1025];
static uint8_t stride_shift[NCLS];     /* floor(log2(stride)) */
static uint8_t *pool;                  /* NCLS * CLASS_BYTES of blocks */
static uint8_t *state;                 /* one byte per 16-byte granule of the pool */
static uint8_t *packed;                /* one byte per block: class << 14 | offset >> shift */
static uint8_t hot[NCLS * 64];

struct cache {
    void **top[NCLS];                  /* array: next free slot */
    void *head[NCLS], *other[NCLS];    /* list / split-list */
    void *slots[NCLS * CAP];
};
static __thread struct cache T;

#define NOINLINE __attribute__((noinline))
static inline unsigned class_of_block(const void *p) { return (unsigned)(((uintptr_t)p - (uintptr_t)pool) >> CLASS_SHIFT); }
static inline uint8_t *state_of(const void *p) { return state + (((uintptr_t)p - (uintptr_t)pool) >> 4); }
static inline uint8_t *packed_of(const void *p, unsigned c)
{
    uint32_t in = (uint32_t)(((uintptr_t)p - (uintptr_t)pool) & (CLASS_BYTES - 1));
    return packed + ((size_t)c << 14) + (in >> stride_shift[c]);
}
static NOINLINE void fail(void) { fputs("shapes: a block's state was wrong\n", stderr); exit(1); }

static inline void *array_pop(unsigned c) { void **t = T.top[c]; void *p = t[-1]; T.top[c] = t - 1; return p; }
static inline void array_push(unsigned c, void *p) { void **t = T.top[c]; *t = p; T.top[c] = t + 1; }

static NOINLINE void *m_array(size_t n) { return array_pop(class_of_size[n]); }
static NOINLINE void f_array(void *p) { array_push(class_of_block(p), p); }

static NOINLINE void *m_list(size_t n)
{
    unsigned c = class_of_size[n];
    void *p = T.head[c];
    T.head[c] = *(void **)p;
    return p;
}
static NOINLINE void f_list(void *p) { unsigned c = class_of_block(p); *(void **)p = T.head[c]; T.head[c] = p; }

static NOINLINE void *m_split(size_t n)
{
    unsigned c = class_of_size[n];
    void *p = T.head[c];
    if (__builtin_expect(!p, 0)) { p = T.other[c]; T.other[c] = NULL; }
    T.head[c] = *(void **)p;
    return p;
}
static NOINLINE void f_split(void *p) { unsigned c = class_of_block(p); *(void **)p = T.other[c]; T.other[c] = p; }

static NOINLINE void *m_state(size_t n) { void *p = array_pop(class_of_size[n]); *state_of(p) = ST_ALLOC; return p; }
static NOINLINE void f_state(void *p)
{
    uint8_t *st = state_of(p);
    if (__builtin_expect(*st != ST_ALLOC, 0)) fail();
    array_push(class_of_block(p), p);
    *st = ST_CACHED;
}
static NOINLINE void f_state_canary(void *p)
{
    uint8_t *st = state_of(p);
    if (__builtin_expect(*st != ST_ALLOC, 0)) fail();
    if (__builtin_expect(((uint8_t *)p)[-1] != CANARY, 0)) fail();
    array_push(class_of_block(p), p);
    *st = ST_CACHED;
}
static NOINLINE void f_check(void *p)
{
    if (__builtin_expect(*state_of(p) == 0xff, 0)) fail();   /* never: a load and a compare */
    array_push(class_of_block(p), p);
}
static NOINLINE void *m_late(size_t n)
{
    unsigned c = class_of_size[n];
    void *p = array_pop(c);
    uintptr_t zero = (uintptr_t)p;
    __asm__("and $0, %0" : "+r"(zero));   /* 0, but known only once p is loaded */
    hot[c * 64 + zero] = ST_ALLOC;
    return p;
}
static NOINLINE void *m_hot(size_t n) { unsigned c = class_of_size[n]; void *p = array_pop(c); hot[c * 64] = ST_ALLOC; return p; }
static NOINLINE void *m_packed(size_t n) { unsigned c = class_of_size[n]; void *p = array_pop(c); *packed_of(p, c) = ST_ALLOC; return p; }
static NOINLINE void f_packed(void *p)
{
    unsigned c = class_of_block(p);
    uint8_t *st = packed_of(p, c);
    if (__builtin_expect(*st != ST_ALLOC, 0)) fail();
    array_push(c, p);
    *st = ST_CACHED;
}

/* list+state+canary: the intrusive list with hakmem's checks; a pop proves the link it
 * followed named a cached block (its state), as the slab free lists' pop check does */
static NOINLINE void *m_list_state(size_t n)
{
    unsigned c = class_of_size[n];
    void *p = T.head[c];
    uint8_t *st = state_of(p);
    if (__builtin_expect(*st != ST_CACHED, 0)) fail();
    T.head[c] = *(void **)p;
    *st = ST_ALLOC;
    return p;
}
static NOINLINE void f_list_state(void *p)
{
    uint8_t *st = state_of(p);
    if (__builtin_expect(*st != ST_ALLOC, 0)) fail();
    if (__builtin_expect(((uint8_t *)p)[-1] != CANARY, 0)) fail();
    unsigned c = class_of_block(p);
    *(void **)p = T.head[c];
    T.head[c] = p;
    *st = ST_CACHED;
}

typedef void *(*malloc_fn)(size_t);
typedef void (*free_fn)(void *);
static const struct shape { const char *name; malloc_fn m; free_fn f; int lists; } shapes[] = {
    { "array", m_array, f_array, 0 },
    { "list", m_list, f_list, 1 },
    { "split-list", m_split, f_split, 1 },
    { "array+state", m_state, f_state, 0 },
    { "array+state+canary", m_state, f_state_canary, 0 },
    { "array+malloc-store", m_state, f_array, 0 },
    { "array+free-check", m_array, f_check, 0 },
    { "array+late-store", m_late, f_array, 0 },
    { "array+hot-store", m_hot, f_array, 0 },
    { "array+packed-state", m_packed, f_packed, 0 },
    { "list+state+canary", m_list_state, f_list_state, 1 },
};
#define NSHAPES (sizeof shapes / sizeof shapes[0])

/* PCG32 (XSH-RR) */
struct pcg { uint64_t state, inc; };
static inline uint32_t pcg_next(struct pcg *g)
{
    uint64_t old = g->state;
    g->state = old * 6364136223846793005ull + g->inc;
    uint32_t xs = (uint32_t)(((old >> 18) ^ old) >> 27), rot = (uint32_t)(old >> 59);
    return (xs >> rot) | (xs << ((32 - rot) & 31));
}
struct slot { unsigned char *p; uint32_t size; };

static NOINLINE uint64_t shapes_loop(struct slot *s, struct pcg *g, uint64_t iters, malloc_fn m, free_fn f, int *bad)
{
    uint64_t check = 0;
    for (uint64_t i = 0; i < iters; i++) {
        struct slot *x = &s[pcg_next(g) & 255];
        if (x->p) {
            unsigned char last = x->p[x->size - 1];
            if (last != (unsigned char)(x->size ^ 0x5a)) *bad = 1;
            check += last;
            f(x->p);
        }
        uint32_t size = 16 + (uint32_t)(((uint64_t)pcg_next(g) * 1009) >> 32);
        unsigned char *p = m(size);
        p[0] = (unsigned char)i;
        p[size - 1] = (unsigned char)(size ^ 0x5a);
        x->p = p;
        x->size = size;
    }
    return check;
}

static void setup(const struct shape *sh)
{
    for (unsigned n = 0, c = 0; n <= 1024; n++) {
        while (stride[c] - 1 < n) c++;   /* usable = stride - 1: the byte at p - 1 is the canary */
        class_of_size[n] = (uint8_t)c;
    }
    for (unsigned c = 0; c < NCLS; c++) {
        unsigned b = 0;
        while ((2u << b) <= stride[c]) b++;
        stride_shift[c] = (uint8_t)b;
    }
    pool = aligned_alloc(1u << 21, (size_t)NCLS * CLASS_BYTES);
    state = calloc((size_t)NCLS * CLASS_BYTES / 16, 1);
    packed = calloc((size_t)NCLS << 14, 1);
    if (!pool || !state || !packed) { perror("shapes"); exit(1); }
    for (unsigned c = 0; c < NCLS; c++) {
        unsigned nb = CLASS_BYTES / stride[c] - 1;
        if (nb > CAP - 2) nb = CAP - 2;
        T.top[c] = &T.slots[c * CAP + 1];   /* slots[c * CAP] stays NULL */
        for (int k = (int)nb - 1; k >= 0; k--) {
            uint8_t *b = pool + (size_t)c * CLASS_BYTES + 16 + (size_t)k * stride[c];
            b[-1] = CANARY;
            if (sh->lists) { *(void **)b = T.head[c]; T.head[c] = b; *state_of(b) = ST_CACHED; }
            else *T.top[c]++ = b;
        }
    }
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        FILE *o = argc == 2 ? stdout : stderr;
        fprintf(o, "usage: shapes SHAPE [iterations] | shapes --list\n"
                   "random_mixed's loop served by one thread-cache shape (see the comment at the top of bench/shapes.c)\n");
        return argc == 2 ? 0 : 2;
    }
    if (!strcmp(argv[1], "--list")) {
        for (unsigned i = 0; i < NSHAPES; i++) puts(shapes[i].name);
        return 0;
    }
    const struct shape *sh = NULL;
    for (unsigned i = 0; i < NSHAPES; i++) if (!strcmp(argv[1], shapes[i].name)) sh = &shapes[i];
    char *end = NULL;
    unsigned long long iters = argc == 3 ? strtoull(argv[2], &end, 10) : 20000000ull;
    if (!sh || (end && (*end || !iters))) {
        fprintf(stderr, "shapes: unknown shape or bad iteration count (shapes --list)\n");
        return 2;
    }
    setup(sh);
    struct slot *s = calloc(256, sizeof *s);
    struct pcg g = { 0x853c49e6748fea9bull, 0xda3e39cb94b95bdbull };
    int bad = 0;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    uint64_t check = shapes_loop(s, &g, iters, sh->m, sh->f, &bad);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double t = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) * 1e-9;
    printf("RESULT shape=%s ops=%llu ops_per_sec=%.0f check=%llu\n", sh->name, iters, (double)iters / t,
           (unsigned long long)check);
    return bad;
}
