/*
 * soclab's native block counter: virtual time without a Python hook per block.
 *
 * Registered as Unicorn's UC_HOOK_BLOCK callback through the C API. For every translated
 * block the guest enters it adds the block's instruction count to `insns`, and when
 * `insns` has reached `deadline` (the next device event, or --max-insns) it stops the CPU
 * *before* the next block runs, so the count stays exact: PC is the first unexecuted block,
 * which is counted when the CPU resumes and enters it.
 *
 * Instruction counts per block come from a 2-way cache keyed by (address, size); a miss
 * asks Python (`miss`), which disassembles the block once. The set is chosen by a
 * multiplicative hash of the whole address: x86 blocks can be one or two bytes long (`int
 * $0x80; ret` is two blocks, and the function after it a third), so a set index that drops
 * the low address bits would make such neighbours evict each other on every pass. Measured cost: about 3 ns per
 * block on top of Unicorn's own block-hook dispatch (ARCHITECTURE.md §4).
 */
#include <stdint.h>

typedef int (*stop_fn)(void *uc);
typedef uint32_t (*miss_fn)(uint64_t addr, uint32_t size);

struct entry {
	uint64_t addr;
	uint32_t size;
	uint32_t n;
};

struct blockcount {
	uint64_t insns;     /* instructions in blocks entered and run */
	uint64_t deadline;  /* stop before the first block entered at or past this */
	uint64_t last_addr; /* the block that was stopped at the deadline */
	uint32_t last_n;
	uint32_t stopped;   /* 1 when the deadline stopped the CPU */
	stop_fn stop;       /* uc_emu_stop */
	miss_fn miss;       /* Python: instruction count of a new block */
	struct entry *table;
	uint32_t mask;      /* table entries - 1, a power of two minus one */
	uint32_t misses;
};

void blockcount_hook(void *uc, uint64_t addr, uint32_t size, struct blockcount *s)
{
	uint32_t set = (uint32_t)((addr * 0x9E3779B97F4A7C15ull) >> 40);
	struct entry *e = &s->table[(set << 1) & s->mask];
	uint32_t n;

	if (__builtin_expect(e[0].addr == addr && e[0].size == size, 1)) {
		n = e[0].n;
	} else if (e[1].addr == addr && e[1].size == size) {
		n = e[1].n;
	} else {
		n = s->miss(addr, size);
		s->misses++;
		e[1] = e[0];
		e[0].addr = addr;
		e[0].size = size;
		e[0].n = n;
	}
	if (__builtin_expect(s->insns >= s->deadline, 0)) {
		s->last_addr = addr;
		s->last_n = n;
		s->stopped = 1;
		s->stop(uc);
		return;
	}
	s->insns += n;
}

void blockcount_flush(struct blockcount *s)
{
	for (uint32_t i = 0; i <= s->mask; i++) {
		s->table[i].addr = 0;
		s->table[i].size = 0;
		s->table[i].n = 0;
	}
}
