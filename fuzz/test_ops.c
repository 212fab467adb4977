/* test_ops.c - unit test of the op-stream model: any bytes decode; decode, encode and
 * the text form are inverse of each other on canonical ops; every op and kind has a
 * text form that parses back. */
#include "ops.h"

#include <stdlib.h>
#include <string.h>

static int fails;
#define CHECK(c, ...) do { if (!(c)) { fails++; fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
    fprintf(stderr, __VA_ARGS__); fprintf(stderr, "\n"); } } while (0)

int main(void)
{
    static uint8_t in[4096], enc[HOP_MAX * 16];
    static hop a[HOP_MAX], b[HOP_MAX];
    unsigned long long x = 88172645463325252ull;
    int seen[HOP_NCODES] = { 0 };
    for (int round = 0; round < 3000; round++) {
        size_t len = (size_t)(x % 1500);
        for (size_t i = 0; i < len; i++) { x ^= x << 13; x ^= x >> 7; x ^= x << 17; in[i] = (uint8_t)x; }
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        hop_dialect d = (hop_dialect)(round % HOP_NDIALECTS);
        int n = hop_decode(d, in, len, a, HOP_MAX);
        CHECK(n >= 0 && n <= HOP_MAX, "op count %d", n);
        for (int i = 0; i < n; i++) seen[a[i].code]++;
        long el = hop_encode(d, a, n, enc, sizeof enc);
        CHECK(el >= 0, "encode failed (round %d)", round);
        int m = hop_decode(d, enc, (size_t)el, b, HOP_MAX);
        CHECK(m == n && !memcmp(a, b, sizeof a[0] * (size_t)n), "decode(encode) differs (round %d)", round);
        for (int i = 0; i < n; i++) {
            char t[160], err[200];
            hop c;
            hop_format(&a[i], t, sizeof t);
            int r = hop_parse_line(t, &c, err, sizeof err);
            CHECK(r == 1 && !memcmp(&c, &a[i], sizeof c), "text round trip of '%s': %s", t, r < 0 ? err : "differs");
        }
    }
    for (int c = 0; c < HOP_NCODES; c++) CHECK(seen[c] > 0, "op %s never decoded", hop_code_name(c));
    /* hand-written text */
    const char *txt = HOP_TEXT_MAGIC "\nalloc 3 512 fill 0x20\n# comment\nthread 1\nfree 3 # trailing\n"
                      "uaf_link 3 slot 5 -16\nfree_bad 2 global own\nforge 1 2 own64\nrealloc_bad 4 freed 100\n"
                      "posix_memalign 7 64 100\nvalloc 2 10\ncalloc 1 4 18446744073709551615\n";
    char err[200];
    int n = hop_parse_text(txt, strlen(txt), a, HOP_MAX, err, sizeof err);
    CHECK(n == 10, "parsed %d ops: %s", n, n < 0 ? err : "");
    CHECK(hop_parse_line("alloc 64 1", &b[0], err, sizeof err) < 0, "slot 64 accepted");
    CHECK(hop_parse_line("bogus 1", &b[0], err, sizeof err) < 0, "unknown op accepted");
    CHECK(hop_parse_line("alloc 1 99999999999", &b[0], err, sizeof err) < 0, "unencodable size accepted");
    printf("test-ops: %s\n", fails ? "FAILED" : "ok");
    return fails ? 1 : 0;
}
