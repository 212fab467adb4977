/* prog.c - a program built against an installed hakmem with pkg-config alone.
 * Linked with `pkg-config --libs hakmem`: the shared library is then the process's
 * malloc, and the prefixed API is there too. With -DDEBUG_PC: hakmem-debug. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <hakmem.h>

#ifdef DEBUG_PC
#define API(name) hakd_##name
#define WANT "debug"
#else
#define API(name) hak_##name
#define WANT "release"
#endif

int main(void)
{
    int bad = 0;
    if (API(version)() != HAKMEM_VERSION) { printf("version %d, header %d\n", API(version)(), HAKMEM_VERSION); bad = 1; }
    if (strcmp(API(build_name)(), WANT) != 0) { printf("build %s\n", API(build_name)()); bad = 1; }
    char *p = API(malloc)(100);
    memset(p, 7, 100);
    if (!API(owns)(p, 100) || API(malloc_usable_size)(p) < 100) { printf("hak block not owned\n"); bad = 1; }
    API(free)(p);
    char *m = malloc(64);   /* the libc name: the linked shared library's */
    if (!API(owns)(m, 64)) { printf("malloc is not hakmem's\n"); bad = 1; }
    free(m);
    hak_heap_stats s;
    API(get_heap_stats)(&s);
    if (s.superslabs == 0) { printf("no SuperSlab\n"); bad = 1; }
    printf("%s %d.%d.%d: %s\n", WANT, HAKMEM_VERSION_MAJOR, HAKMEM_VERSION_MINOR, HAKMEM_VERSION_PATCH, bad ? "FAIL" : "ok");
    return bad;
}
