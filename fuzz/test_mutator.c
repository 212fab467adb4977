/* test_mutator.c - unit test of the structure-aware mutator (fuzz/mutator.c): every
 * output is whole ops in the dialect (encode(decode(out)) == out), within the size
 * limit, never a text input; text inputs come out as binary; the mutations change the
 * stream; the layouts are reachable (many slots live at once, a fault aimed at a freed
 * block, a fault on another thread); the probes of each release check's distinction
 * are reached from a fault-free stream, each as the stream's first fault (a link to a
 * freed block of another size after a flush, then pops of the victim's size; a link
 * into the first 16 bytes of a freed block; a cycle followed by two pops; a misaligned
 * free of a live block whose data imitates the canary, then an allocation of its size;
 * realloc of a bad pointer with a size beyond PTRDIFF_MAX); cross-over keeps a prefix
 * of its first input. */
#include "ops.h"

#include <stdlib.h>
#include <string.h>

size_t hakmem_mutate(uint8_t *data, size_t size, size_t max, unsigned seed, hop_dialect d);
size_t hakmem_crossover(const uint8_t *d1, size_t s1, const uint8_t *d2, size_t s2, uint8_t *out, size_t max,
                        unsigned seed, hop_dialect d);

static int fails;
#define CHECK(c, ...) do { if (!(c)) { fails++; fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
    fprintf(stderr, __VA_ARGS__); fprintf(stderr, "\n"); if (fails > 20) exit(1); } } while (0)

static hop ops[HOP_MAX];

/* The output decodes into whole ops that encode back to the same bytes. */
static int whole_ops(hop_dialect d, const uint8_t *b, size_t n)
{
    static uint8_t enc[HOP_MAX * 24];
    int k = hop_decode(d, b, n, ops, HOP_MAX);
    long l = hop_encode(d, ops, k, enc, sizeof enc);
    return l == (long)n && !memcmp(enc, b, n);
}

/* Most slots live at once, and whether a fault hits a freed slot / runs on a worker. */
static void shape(int n, int *max_live, int *fault_on_freed, int *fault_on_worker)
{
    uint8_t st[HOP_NSLOTS] = { 0 };
    int live = 0, thr = 0;
    for (int i = 0; i < n; i++) {
        const hop *o = &ops[i];
        if (hop_base_class(o) && st[o->s] == 2) *fault_on_freed = 1;
        if (hop_base_class(o) && thr) *fault_on_worker = 1;
        switch (o->code) {
        case HOP_ALLOC: case HOP_CALLOC: case HOP_ALIGNED: case HOP_REALLOC:
            if (st[o->s] != 1) live++;
            st[o->s] = 1;
            break;
        case HOP_FREE: if (st[o->s] == 1) { live--; st[o->s] = 2; } break;
        case HOP_THREAD: thr = o->a; break;
        default: break;
        }
        if (live > *max_live) *max_live = live;
    }
}

/* The probe shapes of the stream in ops[0, n), as a bit mask (PR_*), judged on its first
 * fault only (a later one would be hidden behind it). */
enum { PR_LINK_OTHER = 1, PR_LINK_GRANULE = 2, PR_CYCLE = 4, PR_CANARY_FREE = 8, PR_REFUSED = 16, PR_ALL = 31 };
static unsigned probes_seen(int n)
{
    uint8_t st[HOP_NSLOTS] = { 0 };
    uint64_t size[HOP_NSLOTS] = { 0 };
    uint8_t fill[HOP_NSLOTS] = { 0 };
    int flushed_after_free = 0, f = -1;
    for (int i = 0; i < n && f < 0; i++) {
        const hop *o = &ops[i];
        if (hop_base_class(o)) { f = i; break; }
        if (o->code == HOP_ALLOC) { st[o->s] = 1; size[o->s] = o->size; fill[o->s] = o->fill; }
        else if (o->code == HOP_FREE && st[o->s] == 1) { st[o->s] = 2; flushed_after_free = 0; }
        else if (o->code == HOP_FLUSH) flushed_after_free = 1;
    }
    if (f < 0) return 0;
    const hop *o = &ops[f];
    int pops = 0;   /* allocations of the victim's size after the fault */
    for (int i = f + 1; i < n; i++) if (ops[i].code == HOP_ALLOC && ops[i].size == size[o->s]) pops++;
    unsigned r = 0;
    if (o->code == HOP_UAF_LINK && st[o->s] == 2 && flushed_after_free && pops >= 2) {
        if (o->k == HOP_LINK_SLOT && st[o->t] == 2 && size[o->t] != size[o->s] && o->a == 0) r |= PR_LINK_OTHER;
        if (o->k == HOP_LINK_SLOT && st[o->t] == 2 && o->t != o->s && o->a >= 1 && o->a <= 15) r |= PR_LINK_GRANULE;
        if (o->k == HOP_LINK_SELF || (o->k == HOP_LINK_SLOT && o->t == o->s && o->a == 0)) r |= PR_CYCLE;
    }
    if (o->code == HOP_FREE_BAD && o->k == HOP_BAD_MISALIGNED && st[o->s] == 1 && (fill[o->s] & 0xEF) == 0x25 && pops >= 1)
        r |= PR_CANARY_FREE;
    if (o->code == HOP_REALLOC_BAD && o->size > (uint64_t)PTRDIFF_MAX && st[o->s] != 0) r |= PR_REFUSED;
    return r;
}

int main(void)
{
    static uint8_t buf[4096], b2[4096], out[4096];
    unsigned long long x = 0x243F6A8885A308D3ull;
    for (int d = 0; d < HOP_NDIALECTS; d++) {
        int changed = 0, max_live = 0, on_freed = 0, on_worker = 0, rounds = 20000;
        unsigned probes = 0;
        size_t len = 0;
        for (int r = 0; r < rounds; r++) {
            if (r % 50 == 0) {   /* restart from random bytes now and then */
                len = (size_t)(x % 200);
                for (size_t i = 0; i < len; i++) { x ^= x << 13; x ^= x >> 7; x ^= x << 17; buf[i] = (uint8_t)x; }
            }
            size_t max = r % 7 == 0 ? 64 + r % 300 : 1024;
            if (len > max) len = max;
            memcpy(b2, buf, len);
            size_t n = hakmem_mutate(buf, len, max, (unsigned)r * 2654435761u, (hop_dialect)d);
            CHECK(n <= max, "dialect %d round %d: %zu bytes > max %zu", d, r, n, max);
            CHECK(!hop_is_text(buf, n), "dialect %d round %d: output reads as text", d, r);
            CHECK(whole_ops((hop_dialect)d, buf, n), "dialect %d round %d: output is not whole canonical ops", d, r);
            changed += n != len || memcmp(b2, buf, n);
            int k = hop_decode((hop_dialect)d, buf, n, ops, HOP_MAX);
            shape(k, &max_live, &on_freed, &on_worker);
            probes |= probes_seen(k);
            len = n;
        }
        CHECK(changed > rounds * 8 / 10, "dialect %d: only %d of %d mutations changed the input", d, changed, rounds);
        CHECK(max_live >= 48, "dialect %d: at most %d blocks live at once (layouts not reached)", d, max_live);
        CHECK(on_freed, "dialect %d: no fault ever aimed at a freed block", d);
        CHECK(on_worker, "dialect %d: no fault ever on a worker thread", d);
        CHECK(probes == PR_ALL, "dialect %d: probes missing (mask %#x of %#x: link to another size, link into a "
              "granule, cycle, canary-looking misaligned free, refused realloc size)", d, probes, PR_ALL);
        printf("test-mutator: dialect %s: %d/%d changed, up to %d blocks live, faults on freed blocks and workers, "
               "probes %#x of %#x\n",
               hop_dialect_name((hop_dialect)d), changed, rounds, max_live, probes, (unsigned)PR_ALL);
    }
    /* a text input comes out binary */
    const char *txt = HOP_TEXT_MAGIC "\nalloc 0 32\nalloc 1 32\nfree 0\nuaf_link 0 null\nalloc 2 32\n";
    for (unsigned s = 0; s < 200; s++) {
        size_t l = strlen(txt);
        memcpy(buf, txt, l);
        size_t n = hakmem_mutate(buf, l, 1024, s, HOP_DIALECT_FREELIST);
        CHECK(!hop_is_text(buf, n) && whole_ops(HOP_DIALECT_FREELIST, buf, n), "text input, seed %u: bad output", s);
    }
    /* cross-over: whole ops, and a non-trivial mix */
    int mixed = 0;
    for (unsigned s = 0; s < 2000; s++) {
        size_t l1 = 60 + s % 100, l2 = 40 + s % 77;
        for (size_t i = 0; i < l1; i++) { x ^= x << 13; x ^= x >> 7; x ^= x << 17; buf[i] = (uint8_t)x; }
        for (size_t i = 0; i < l2; i++) { x ^= x << 13; x ^= x >> 7; x ^= x << 17; b2[i] = (uint8_t)x; }
        size_t max = s % 3 ? 1024 : 50;
        size_t n = hakmem_crossover(buf, l1, b2, l2, out, max, s, HOP_DIALECT_OPS);
        CHECK(n <= max && whole_ops(HOP_DIALECT_OPS, out, n), "cross-over seed %u: bad output", s);
        mixed += n > 0 && memcmp(out, buf, n < l1 ? n : l1) && memcmp(out, b2, n < l2 ? n : l2);
    }
    CHECK(mixed > 100, "cross-over mixed only %d times", mixed);
    printf("test-mutator: %s\n", fails ? "FAILED" : "ok");
    return fails ? 1 : 0;
}
