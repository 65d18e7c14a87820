/*
 * A program that uses an installed address-space layer over the simulated
 * machine: maps memory, writes through a page fault, forks, checks that
 * the child's write is its own, and that nothing leaks.
 */
#include <stdio.h>

#include <memory_set/aspace_sim.h>

int main(void)
{
	struct aspace_sim *sim = aspace_sim_new(0, 0);
	struct aspace parent, child;
	struct aspace_options o;
	struct aspace_sim_stats st;
	void *pt = aspace_sim_pt_new(sim), *cpt = aspace_sim_pt_new(sim);
	unsigned char a = 'a', b = 'b', got = 0;
	int64_t addr;
	int bad = 0;

	aspace_sim_options(sim, pt, &o);
	bad |= aspace_init(&parent, &o) != 0;
	addr = aspace_mmap(&parent, 0, 8192,
			   ASPACE_PROT_READ | ASPACE_PROT_WRITE,
			   ASPACE_MAP_PRIVATE | ASPACE_MAP_ANONYMOUS, NULL, 0);
	bad |= ASPACE_IS_ERR(addr);
	bad |= aspace_copy_to_user(&parent, (uint64_t)addr, &a, 1, NULL) != 0;
	bad |= aspace_fork(&child, &parent, cpt) != 0;
	bad |= aspace_copy_to_user(&child, (uint64_t)addr, &b, 1, NULL) != 0;
	bad |= aspace_copy_from_user(&parent, &got, (uint64_t)addr, 1, NULL) !=
	       0;
	bad |= got != 'a';
	bad |= aspace_check(&parent) != NULL || aspace_check(&child) != NULL;
	aspace_destroy(&child);
	aspace_destroy(&parent);
	aspace_sim_stats(sim, &st);
	bad |= st.frames != 0 || st.blocks != 0;
	aspace_sim_free(sim);
	printf("installed memory_set_aspace: %s\n", bad ? "FAILED" : "ok");
	return bad;
}
