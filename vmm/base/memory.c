#include "vmm/base/memory.h"
#include "vmm/base/log.h"

#include <errno.h>
#include <linux/kvm.h>
#include <numaif.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define HUGEPAGE_SIZE (2ULL << 20)

void guest_ram_layout(uint64_t size, uint64_t *low_size, uint64_t *high_size)
{
	*low_size = size < GUEST_RAM_LOW_MAX ? size : GUEST_RAM_LOW_MAX;
	*high_size = size - *low_size;
}

static int ram_memfd(uint64_t size, bool hugepages)
{
	unsigned int flags = MFD_CLOEXEC | (hugepages ? MFD_HUGETLB : 0);
	int fd = memfd_create("conduit-ram", flags);

	if (fd < 0) {
		log_error("cannot create guest RAM (memfd_create: %s)", strerror(errno));
		return -1;
	}
	if (ftruncate(fd, (off_t)size)) {
		log_error("cannot size guest RAM to %llu MiB (%s)",
			  (unsigned long long)(size >> 20), strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* A memfd mapped shared (conduit's default, and what hugepages=on needs), or anonymous
 * private memory (fd < 0) with shared=off, as QEMU and cloud-hypervisor give. */
static void *ram_map(int fd, uint64_t size)
{
	if (fd < 0)
		return mmap(NULL, size, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
}

/* MPOL_BIND per part: the pages of a shared memfd or hugetlb file take the policy of the
 * range they are faulted through (mbind(2)). */
static int ram_bind(uint8_t *host, uint64_t size, const struct guest_ram_bind *binds,
		    unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		unsigned long mask[1] = {1UL << binds[i].host_node};

		if (binds[i].host_node < 0 || binds[i].host_node >= 64 || binds[i].offset > size ||
		    binds[i].size > size - binds[i].offset) {
			errno = EINVAL;
			return -1;
		}
		if (mbind(host + binds[i].offset, binds[i].size, MPOL_BIND, mask, 64, 0))
			return -1;
	}
	return 0;
}

/* Every page faulted in writable now, so that none changes under a running guest (the
 * shared zero page a read left mapped replaced when a device first writes there). On
 * kernels before 5.14 the pages are touched one by one. */
static int ram_prefault(uint8_t *host, uint64_t size)
{
	uint64_t off;

	if (!madvise(host, size, MADV_POPULATE_WRITE))
		return 0;
	if (errno != EINVAL)
		return -1;
	for (off = 0; off < size; off += 4096)
		__atomic_store_n(&host[off], 0, __ATOMIC_RELAXED);
	return 0;
}

int guest_ram_create(struct guest_ram *ram, uint64_t size, unsigned int flags)
{
	return guest_ram_create_bound(ram, size, flags, NULL, 0);
}

/* Hugetlb memfds fail at fault time, not at mmap, when the pool is empty: populated up
 * front so a short pool is an error now, not a guest SIGBUS. */
static int ram_fill(struct guest_ram *ram, unsigned int flags)
{
	if ((flags & GUEST_RAM_HUGEPAGES) && madvise(ram->host, ram->size, MADV_POPULATE_WRITE)) {
		log_error("cannot allocate %llu MiB of guest RAM in 2M pages (%s): reserve them "
			  "in /proc/sys/vm/nr_hugepages (per node: "
			  "/sys/devices/system/node/nodeN/hugepages)",
			  (unsigned long long)(ram->size >> 20), strerror(errno));
		return -1;
	}
	if ((flags & GUEST_RAM_PREFAULT) && ram_prefault(ram->host, ram->size)) {
		log_error("cannot prefault %llu MiB of guest RAM (%s): lower --memory or drop "
			  "prefault=on",
			  (unsigned long long)(ram->size >> 20), strerror(errno));
		return -1;
	}
	return 0;
}

int guest_ram_create_bound(struct guest_ram *ram, uint64_t size, unsigned int flags,
			   const struct guest_ram_bind *binds, unsigned int nr_binds)
{
	bool huge = flags & GUEST_RAM_HUGEPAGES;

	memset(ram, 0, sizeof(*ram));
	ram->fd = -1;
	if (huge && size % HUGEPAGE_SIZE) {
		log_error("--memory with hugepages=on must be a multiple of 2M");
		return -1;
	}
	if (flags & (GUEST_RAM_SHARED | GUEST_RAM_HUGEPAGES)) {
		ram->fd = ram_memfd(size, huge);
		if (ram->fd < 0)
			return -1;
	}
	ram->host = ram_map(ram->fd, size);
	if (ram->host == MAP_FAILED) {
		log_error("cannot map %llu MiB of guest RAM (%s)%s",
			  (unsigned long long)(size >> 20), strerror(errno),
			  huge ? ": reserve 2M pages in /proc/sys/vm/nr_hugepages" : "");
		if (ram->fd >= 0)
			close(ram->fd);
		ram->host = NULL;
		ram->fd = -1;
		return -1;
	}
	ram->size = size;
	guest_ram_layout(size, &ram->low_size, &ram->high_size);
	madvise(ram->host, size, MADV_DONTDUMP);
	if (ram_bind(ram->host, size, binds, nr_binds)) {
		log_error("cannot bind guest RAM to its host NUMA nodes (mbind: %s)",
			  strerror(errno));
		guest_ram_destroy(ram);
		return -1;
	}
	if (ram_fill(ram, flags)) {
		guest_ram_destroy(ram);
		return -1;
	}
	return 0;
}

static int set_slot(int vm_fd, uint32_t slot, uint64_t gpa, uint64_t size, void *host)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uint64_t)(uintptr_t)host,
	};

	if (ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &r)) {
		log_error("KVM_SET_USER_MEMORY_REGION for guest RAM at 0x%llx failed: %s",
			  (unsigned long long)gpa, strerror(errno));
		return -1;
	}
	return 0;
}

int guest_ram_register(const struct guest_ram *ram, int vm_fd)
{
	if (set_slot(vm_fd, 0, 0, ram->low_size, ram->host))
		return -1;
	if (ram->high_size &&
	    set_slot(vm_fd, 1, GUEST_RAM_HIGH_ADDR, ram->high_size, ram->host + ram->low_size))
		return -1;
	return 0;
}

void guest_ram_destroy(struct guest_ram *ram)
{
	if (ram->host)
		munmap(ram->host, ram->size);
	if (ram->fd >= 0)
		close(ram->fd);
	ram->host = NULL;
	ram->fd = -1;
}

/* The only way to turn a guest physical address into a pointer: the whole range
 * [gpa, gpa + len) must lie inside one RAM part, else NULL. */
void *guest_ram_ptr(const struct guest_ram *ram, uint64_t gpa, uint64_t len)
{
	if (gpa < ram->low_size) {
		if (len > ram->low_size - gpa)
			return NULL;
		return ram->host + gpa;
	}
	if (gpa >= GUEST_RAM_HIGH_ADDR && gpa - GUEST_RAM_HIGH_ADDR < ram->high_size) {
		if (len > ram->high_size - (gpa - GUEST_RAM_HIGH_ADDR))
			return NULL;
		return ram->host + ram->low_size + (gpa - GUEST_RAM_HIGH_ADDR);
	}
	return NULL;
}
