#!/usr/bin/env bash
# fuzz/gen-dict.sh REPLAY TARGET > fuzz/TARGET.dict - a libFuzzer/AFL dictionary for a
# target: every op with typical operands, encoded in the target's dialect, plus a few
# multi-op chunks (fill a slab, free it, flush the cache) that reach refills quickly.
set -eu
replay=$1 t=$2
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
snippets=(
  "alloc 0 32" "alloc 1 48" "alloc 2 16" "alloc 3 1024" "alloc 4 2048" "alloc 5 200000" "free 0" "free 1"
  "flush" "thread 1" "thread 2" "thread 0" "calloc 0 4 8" "realloc 0 100" "realloc 0 0" "memalign 0 64 100"
  "usable 0" "write 0 fill 0x30"
  "uaf_link 0 null" "uaf_link 0 slot 1 +0" "uaf_link 0 slot 1 +8" "uaf_link 0 self" "uaf_link 0 partial 0x40"
  "uaf_link 0 stride 1 +1" "uaf_link 0 stride 1 +20" "uaf_link 0 forged 1 1 own" "uaf_link 0 global own"
  "uaf_link 0 wild 0" "uaf_link 0 foreign" "uaf_link 0 other" "uaf_write 0 8 0x4141414141414141"
  "double_free 0" "free_old 0" "free_bad 0 interior 0" "free_bad 0 misaligned 0" "free_bad 0 stack"
  "free_bad 0 global own" "free_bad 0 foreign" "free_bad 0 other" "free_bad 0 uncarved 3" "free_bad 0 wild 1"
  "forge 0 1 own" "forge 0 1 own64" "overflow 0 1 0x41" "overflow 0 16 0xa0" "underflow 0 1 0x60" "underflow 0 1 0xc0"
  "realloc_bad 0 freed 10" "usable_bad 0 freed" "usable_bad 0 interior 0"
)
i=0
for s in "${snippets[@]}"; do
    printf '#hakmem-ops\n%s\n' "$s" > "$tmp/s.txt"
    "$replay" --target "$t" --to-bin -o "$tmp/s.bin" "$tmp/s.txt"
    printf '# %s\nop_%02d="%s"\n' "$s" $i "$(od -An -v -tx1 "$tmp/s.bin" | tr -d ' \n' | sed 's/../\\x&/g')"
    i=$((i + 1))
done
# chunks: fill a class, free it all, flush (the cache is 8 blocks in fuzz builds)
{ echo '#hakmem-ops'; for k in $(seq 0 9); do echo "alloc $k 32"; done; for k in $(seq 0 9); do echo "free $k"; done; echo flush; } > "$tmp/c.txt"
"$replay" --target "$t" --to-bin -o "$tmp/c.bin" "$tmp/c.txt"
printf 'chunk_fill_free_flush="%s"\n' "$(od -An -v -tx1 "$tmp/c.bin" | tr -d ' \n' | sed 's/../\\x&/g')"
