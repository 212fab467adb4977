/* handler_recover.c - the settable corruption handler records and the allocator
 * recovers: every misuse below is reported once with the right kind and pointer, the
 * process goes on, the misused blocks are never handed out twice, later malloc/free
 * work and heap_drain finds intact freelists. Exits 0. */
//! expect: exit0
#include "misuse.h"

/* Volatile: under LD_PRELOAD glibc declares free() `leaf` (never calling back into
 * this file), which a corruption handler breaks. */
static volatile struct {
    int n;
    hak_corruption_kind kind[64];
    const void *ptr[64];
} rec;

static void record(hak_corruption_kind kind, const void *ptr, void *arg)
{
    if (arg != (void *)&rec) _exit(3);
    if (rec.n < 64) { rec.kind[rec.n] = kind; rec.ptr[rec.n] = ptr; }
    rec.n++;
}

static int failures;
#define CHECK(c) do { if (!(c)) { fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); failures++; } } while (0)

/* Exactly one new report, of this kind, about this pointer. */
static void expect_report(int before, hak_corruption_kind kind, const void *ptr, const char *what)
{
    if (rec.n != before + 1 || rec.kind[before] != kind || rec.ptr[before] != ptr) {
        fprintf(stderr, "%s: got %d report(s), first %s %p; want one %s %p\n", what, rec.n - before,
                rec.n > before ? hak_corruption_name(rec.kind[before]) : "-",
                rec.n > before ? (const void *)rec.ptr[before] : NULL, hak_corruption_name(kind), ptr);
        failures++;
    }
}

/* Allocate many blocks of `size` and check that `p` is handed out at most once. */
static void no_duplicate(size_t size, void *p, int n)
{
    void **v = calloc((size_t)n, sizeof *v);
    int seen = 0;
    for (int i = 0; i < n; i++) {
        v[i] = A(malloc)(size);
        CHECK(v[i] != NULL);
        memset(v[i], 0x77, size);
        seen += v[i] == p;
    }
    CHECK(seen <= 1);
    for (int i = 0; i < n; i++) A(free)(v[i]);
    free(v);
}

int main(void)
{
    CHECK(X(set_corruption_handler)(record, (void *)&rec) == NULL);
    int b;

    /* tiny double free */
    char *p = A(malloc)(64);
    A(free)(p);
    b = rec.n; A(free)(p); expect_report(b, HAK_CORRUPT_DOUBLE_FREE, p, "tiny double free");
    no_duplicate(64, p, 300);

    /* mid and large double free */
    char *m = A(malloc)(20000);
    A(free)(m);
    b = rec.n; A(free)(m); expect_report(b, HAK_CORRUPT_DOUBLE_FREE, m, "mid double free");
    char *l = A(malloc)(1 << 20);
    A(free)(l);
    b = rec.n; A(free)(l); expect_report(b, HAK_CORRUPT_DOUBLE_FREE, l, "large double free");

    /* invalid pointers: stack, interior, misaligned */
    _Alignas(16) char stackbuf[64];
    b = rec.n; A(free)(misuse_launder(stackbuf)); expect_report(b, HAK_CORRUPT_INVALID_POINTER, stackbuf, "stack free");
    char *q = A(malloc)(100);
    b = rec.n; A(free)(q + 16); expect_report(b, HAK_CORRUPT_INVALID_POINTER, q + 16, "interior free");
    b = rec.n; A(free)(q + 1); expect_report(b, HAK_CORRUPT_INVALID_POINTER, q + 1, "misaligned free");
    A(free)(q);   /* q itself is still fine */

    /* use after free through realloc and malloc_usable_size */
    char *r = A(malloc)(48);
    A(free)(r);
    b = rec.n; CHECK(A(realloc)(r, 100) == NULL); expect_report(b, HAK_CORRUPT_USE_AFTER_FREE, r, "realloc freed");
    b = rec.n; CHECK(A(malloc_usable_size)(r) == 0); expect_report(b, HAK_CORRUPT_USE_AFTER_FREE, r, "usable_size freed");

    /* a damaged header: the free is refused, the block is leaked */
    char *h = A(malloc)(40);
    h[-1] = 0x55;
    b = rec.n; A(free)(h); expect_report(b, HAK_CORRUPT_BAD_HEADER, h, "bad header");

    /* a double free after forging the freed block's header byte from a live block's:
     * reported, and the block is still handed out once only */
    {
        unsigned char *v[16];
        int done = 0;
        for (int i = 0; i < 16; i++) v[i] = A(malloc)(24);
        for (int i = 0; i < 16 && !done; i++)
            for (int j = 0; j < 16 && !done; j++)
                if (v[j] == v[i] + 32) {
                    A(free)(v[j]);
                    v[i][31] = v[i][-1];
                    b = rec.n; A(free)(v[j]); expect_report(b, HAK_CORRUPT_DOUBLE_FREE, v[j], "forged double free");
                    no_duplicate(24, v[j], 300);
                    v[j] = NULL;
                    done = 1;
                }
        CHECK(done);
        for (int i = 0; i < 16; i++) if (v[i]) A(free)(v[i]);
    }

    /* a freelist link to a live block whose header byte was forged from a free one's:
     * reported once, and the live block is never handed out */
    {
        static void *f[400];
        unsigned char *lv = A(malloc)(40);
        for (int i = 0; i < 400; i++) { f[i] = A(malloc)(40); memset(f[i], 0x5a, 8); }
        for (int i = 0; i < 400; i++) A(free)(f[i]);
        unsigned char *victim = f[100];
        CHECK(*(uint64_t *)victim != 0x5a5a5a5a5a5a5a5aull);   /* on the freelist: a link */
        lv[-1] = victim[-1];
        *(void **)victim = lv;
        b = rec.n;
        int handed = 0;
        for (int i = 0; i < 1600; i++) { f[i % 400] = A(malloc)(40); handed += f[i % 400] == (void *)lv; if (i % 400 == 399) for (int k = 0; k < 400; k++) A(free)(f[k]); }
        CHECK(handed == 0);
        expect_report(b, HAK_CORRUPT_BAD_FREELIST_LINK, lv, "forged link to live");
    }

    /* the heap works on: mixed traffic with verified contents, no new reports */
    int before = rec.n;
    static char *live[512];
    static size_t len[512];
    unsigned x = 12345;
    for (int i = 0; i < 20000; i++) {
        x = x * 1103515245u + 12345u;
        int k = (int)((x >> 8) % 512);
        if (live[k]) {
            for (size_t j = 0; j < len[k]; j++)
                if (live[k][j] != (char)(k + j)) { CHECK(!"block contents changed"); break; }
            A(free)(live[k]);
            live[k] = NULL;
        } else {
            size_t sz = (x >> 20) % 5 == 0 ? 1025 + (x >> 12) % 60000 : (x >> 12) % 1025;
            if ((x >> 16) % 97 == 0) sz = 200000;
            live[k] = A(malloc)(sz);
            CHECK(live[k] != NULL);
            len[k] = sz;
            for (size_t j = 0; j < sz; j++) live[k][j] = (char)(k + j);
        }
    }
    for (int k = 0; k < 512; k++) A(free)(live[k]);
    X(heap_drain)();
    CHECK(rec.n == before);

    CHECK(X(set_corruption_handler)(NULL, NULL) == record);
    if (failures) {
        fprintf(stderr, "handler_recover: %d check(s) failed\n", failures);
        return 1;
    }
    printf("handler_recover: %d reports recorded as expected, heap usable afterwards\n", rec.n);
    return 0;
}
