#include "tests/unit/check.h"
#include "virtio/coalesce.h"
#include "virtio/poll_window.h"
#include "vmm/base/size.h"
#include "vmm/options.h"

#include <string.h>

static enum options_result parse(struct vm_options *o, const char *a1, const char *a2,
				 const char *a3, const char *a4)
{
	char *argv[6] = {"run", (char *)a1, (char *)a2, (char *)a3, (char *)a4, NULL};
	int argc = 1;

	while (argc < 5 && argv[argc])
		argc++;
	return options_parse(argc, argv, o);
}

static void test_defaults(void)
{
	struct vm_options o;

	CHECK(parse(&o, "--kernel", "/k", NULL, NULL) == OPTIONS_OK);
	CHECK(!strcmp(o.kernel, "/k"));
	CHECK(o.cpus == 1);
	CHECK(o.memory == 512ULL << 20);
	CHECK(o.serial == SERIAL_STDIO);
	CHECK(!o.hugepages && o.shared_memory && !o.prefault && !o.initrd && !o.stats);
	CHECK(o.seccomp == SANDBOX_ON && !o.numa_off);
	CHECK(!strcmp(o.cmdline, "console=ttyS0"));
}

static void test_values(void)
{
	struct vm_options o;

	CHECK(parse(&o, "--kernel=/k", "--cpus=4", "--memory", "2G,hugepages=on") == OPTIONS_OK);
	CHECK(o.cpus == 4 && o.memory == 2ULL << 30 && o.hugepages);
	CHECK(parse(&o, "--kernel=/k", "--memory=1G,shared=on,hugepages=off", NULL, NULL) ==
	      OPTIONS_OK);
	CHECK(o.memory == 1ULL << 30 && o.shared_memory && !o.hugepages && !o.prefault);
	CHECK(parse(&o, "--kernel=/k", "--memory=1G,prefault=on,shared=off", NULL, NULL) ==
	      OPTIONS_OK);
	CHECK(o.prefault && !o.shared_memory);
	CHECK(parse(&o, "--kernel=/k", "--memory=1024", "--serial", "file=/tmp/x") == OPTIONS_OK);
	CHECK(o.memory == 1ULL << 30 && o.serial == SERIAL_FILE &&
	      !strcmp(o.serial_path, "/tmp/x"));
	CHECK(parse(&o, "--kernel=/k", "--serial=none", "--initrd=/i", "--cmdline=a b") ==
	      OPTIONS_OK);
	CHECK(o.serial == SERIAL_NONE && !strcmp(o.initrd, "/i") && !strcmp(o.cmdline, "a b"));
	CHECK(parse(&o, "--kernel=/k", "--seccomp=log", NULL, NULL) == OPTIONS_OK);
	CHECK(o.seccomp == SANDBOX_LOG);
	CHECK(parse(&o, "--kernel=/k", "--seccomp", "off", NULL) == OPTIONS_OK);
	CHECK(o.seccomp == SANDBOX_OFF);
	CHECK(parse(&o, "--kernel=/k", "--numa=off", NULL, NULL) == OPTIONS_OK && o.numa_off);
	CHECK(parse(&o, "--kernel=/k", "--numa", "auto", NULL) == OPTIONS_OK && !o.numa_off);
	CHECK(parse(&o, "--kernel=/k", "--numa=node=0", NULL, NULL) == OPTIONS_ERROR);
}

static void test_errors(void)
{
	struct vm_options o;

	CHECK(parse(&o, NULL, NULL, NULL, NULL) == OPTIONS_ERROR); /* no kernel */
	CHECK(parse(&o, "--kernel=/k", "--cpus=0", NULL, NULL) == OPTIONS_ERROR);
	CHECK(parse(&o, "--kernel=/k", "--cpus=255", NULL, NULL) == OPTIONS_ERROR);
	CHECK(parse(&o, "--kernel=/k", "--cpus=2x", NULL, NULL) == OPTIONS_ERROR);
	CHECK(parse(&o, "--kernel=/k", "--cpus=-1", NULL, NULL) == OPTIONS_ERROR);
	CHECK(parse(&o, "--kernel=/k", "--memory=16M", NULL, NULL) == OPTIONS_ERROR);
	CHECK(parse(&o, "--kernel=/k", "--memory=2T", NULL, NULL) == OPTIONS_ERROR);
	CHECK(parse(&o, "--kernel=/k", "--memory=lots", NULL, NULL) == OPTIONS_ERROR);
	CHECK(parse(&o, "--kernel=/k", "--memory=1G,hugepages=maybe", NULL, NULL) == OPTIONS_ERROR);
	CHECK(parse(&o, "--kernel=/k", "--memory=1G,shared", NULL, NULL) == OPTIONS_ERROR);
	CHECK(parse(&o, "--kernel=/k", "--memory=1G,numa=0", NULL, NULL) == OPTIONS_ERROR);
	CHECK(parse(&o, "--kernel=/k", "--memory=1000K", NULL, NULL) == OPTIONS_ERROR);
	CHECK(parse(&o, "--kernel=/k", "--serial=tcp:1", NULL, NULL) == OPTIONS_ERROR);
	CHECK(parse(&o, "--kernel=/k", "--seccomp=strict", NULL, NULL) == OPTIONS_ERROR);
	CHECK(parse(&o, "--kernel=/k", "--bogus", NULL, NULL) == OPTIONS_ERROR);
	CHECK(parse(&o, "--kernel=/k", "extra", NULL, NULL) == OPTIONS_ERROR);
	CHECK(parse(&o, "--kernel", NULL, NULL, NULL) == OPTIONS_ERROR); /* missing value */
	CHECK(parse(&o, "--help", NULL, NULL, NULL) == OPTIONS_HELP);
}

static void test_sizes(void)
{
	uint64_t v;

	CHECK(size_parse("512", &v) == 0 && v == 512ULL << 20);
	CHECK(size_parse("4k", &v) == 0 && v == 4096);
	CHECK(size_parse("3G", &v) == 0 && v == 3ULL << 30);
	CHECK(size_parse("3GiB", &v) == 0 && v == 3ULL << 30);
	CHECK(size_parse("1T", &v) == 0 && v == 1ULL << 40);
	CHECK(size_parse("", &v) < 0);
	CHECK(size_parse("G", &v) < 0);
	CHECK(size_parse("-1G", &v) < 0);
	CHECK(size_parse("1Q", &v) < 0);
	CHECK(size_parse("99999999999999999999", &v) < 0);
	CHECK(size_parse("17179869184T", &v) < 0); /* overflows 64 bits */
}

static void test_topology_options(void)
{
	struct vm_options o;

	CHECK(parse(&o, "--kernel=/k", "--pcie=root-port,id=rp1",
		    "--pcie=switch,id=sw,bus=rp1,ports=4",
		    "--disk=path=/d.img,readonly=on,queues=4,direct=on,bus=sw.1") == OPTIONS_OK);
	CHECK(o.nr_ports == 2 && !o.port[0].is_switch && !strcmp(o.port[0].id, "rp1"));
	CHECK(o.port[1].is_switch && !strcmp(o.port[1].bus, "rp1") && o.port[1].ports == 4);
	CHECK(o.nr_disks == 1 && !strcmp(o.disk[0].blk.path, "/d.img") && o.disk[0].blk.readonly &&
	      o.disk[0].blk.direct && o.disk[0].blk.queues == 4 && !strcmp(o.disk[0].bus, "sw.1"));
	options_free(&o);
	CHECK(parse(&o, "--kernel=/k", "--disk=path=/a", "--rng", NULL) == OPTIONS_OK);
	CHECK(o.disk[0].blk.queues == 0 && !o.disk[0].blk.readonly && o.rng && !o.rng_bus);
	CHECK(o.disk[0].blk.poll_us == POLL_WINDOW_DEFAULT_US &&
	      o.disk[0].blk.coalesce_us == COALESCE_DEFAULT_US);
	CHECK(!o.disk[0].blk.sqpoll && !o.disk[0].blk.fixed_buffers);
	options_free(&o);
	CHECK(parse(&o, "--kernel=/k", "--disk=path=/a,poll-us=0,coalesce-us=200,sqpoll=on", NULL,
		    NULL) == OPTIONS_OK);
	CHECK(o.disk[0].blk.poll_us == 0 && o.disk[0].blk.coalesce_us == 200 &&
	      o.disk[0].blk.sqpoll);
	options_free(&o);
	CHECK(parse(&o, "--kernel=/k", "--rng=bus=rp9", NULL, NULL) == OPTIONS_OK);
	CHECK(o.rng && !strcmp(o.rng_bus, "rp9"));
	options_free(&o);

	CHECK(parse(&o, "--kernel=/k", "--pcie=bridge,id=x", NULL, NULL) == OPTIONS_ERROR);
	CHECK(parse(&o, "--kernel=/k", "--pcie=root-port", NULL, NULL) == OPTIONS_ERROR);
	CHECK(parse(&o, "--kernel=/k", "--pcie=switch,id=s,ports=2", NULL, NULL) == OPTIONS_ERROR);
	CHECK(parse(&o, "--kernel=/k", "--pcie=switch,id=s,bus=r,ports=0", NULL, NULL) ==
	      OPTIONS_ERROR);
	/* a root port's bus= (pcie.0 or a root complex) is resolved when the machine is built */
	CHECK(parse(&o, "--kernel=/k", "--pcie=root-port,id=r,bus=x", NULL, NULL) == OPTIONS_OK);
	options_free(&o);
	CHECK(parse(&o, "--kernel=/k", "--pcie=root-port,id=r,numa=0", NULL, NULL) ==
	      OPTIONS_ERROR);
	CHECK(parse(&o, "--kernel=/k", "--pcie=root-complex,id=rc,bus=r", NULL, NULL) ==
	      OPTIONS_ERROR);
	CHECK(parse(&o, "--kernel=/k", "--pcie=root-complex,id=pcie.0", NULL, NULL) ==
	      OPTIONS_ERROR);
	CHECK(parse(&o, "--kernel=/k", "--disk=readonly=on", NULL, NULL) == OPTIONS_ERROR);
	CHECK(parse(&o, "--kernel=/k", "--disk=path=/a,readonly=yes", NULL, NULL) == OPTIONS_ERROR);
	CHECK(parse(&o, "--kernel=/k", "--disk=path=/a,queues=0", NULL, NULL) == OPTIONS_ERROR);
	CHECK(parse(&o, "--kernel=/k", "--disk=path=/a,queues=17", NULL, NULL) == OPTIONS_ERROR);
	CHECK(parse(&o, "--kernel=/k", "--disk=path=/a,cache=none", NULL, NULL) == OPTIONS_ERROR);
	CHECK(parse(&o, "--kernel=/k", "--disk=path=/a,coalesce-us=10001", NULL, NULL) ==
	      OPTIONS_ERROR);
	CHECK(parse(&o, "--kernel=/k", "--rng=rp1", NULL, NULL) == OPTIONS_ERROR);
}

static void test_vfio_options(void)
{
	struct vm_options o;

	CHECK(parse(&o, "--kernel=/k", "--vfio=host=0000:00:12.0,bus=rp1", "--vfio=host=04:00.1",
		    NULL) == OPTIONS_OK);
	CHECK(o.nr_vfio == 2 && !strcmp(o.vfio[0].host, "0000:00:12.0") &&
	      !strcmp(o.vfio[0].bus, "rp1") && !strcmp(o.vfio[1].host, "04:00.1") &&
	      !o.vfio[1].bus && o.vfio[0].msix_relocate == VFIO_MSIX_RELOCATE_AUTO);
	options_free(&o);
	CHECK(parse(&o, "--kernel=/k", "--vfio=host=04:00.1,msix-relocate=on",
		    "--vfio=host=04:00.2,msix-relocate=off", NULL) == OPTIONS_OK);
	CHECK(o.vfio[0].msix_relocate == VFIO_MSIX_RELOCATE_ON &&
	      o.vfio[1].msix_relocate == VFIO_MSIX_RELOCATE_OFF);
	options_free(&o);
	CHECK(parse(&o, "--kernel=/k", "--vfio=host=04:00.1,msix-relocate=bar2", NULL, NULL) ==
	      OPTIONS_ERROR);
	CHECK(parse(&o, "--kernel=/k", "--vfio=host=04:00.1,msix-relocate", NULL, NULL) ==
	      OPTIONS_ERROR);
	CHECK(parse(&o, "--kernel=/k", "--vfio=bus=rp1", NULL, NULL) == OPTIONS_ERROR);
	CHECK(parse(&o, "--kernel=/k", "--vfio=host=0000:00:12.0,rombar=0", NULL, NULL) ==
	      OPTIONS_ERROR);
	CHECK(parse(&o, "--kernel=/k", "--vfio=host=", NULL, NULL) == OPTIONS_ERROR);
}

/* Managed assignment: host=,managed=on and pf= with a VF's settings (#11). */
static void test_vfio_managed(void)
{
	const struct vf_link_change *s;
	struct vm_options o;

	CHECK(parse(&o, "--kernel=/k", "--vfio=host=04:00.1,managed=on",
		    "--vfio=pf=0000:00:02.0,mac=52:54:00:aa:bb:01,vlan=100,qos=3,trust=on",
		    NULL) == OPTIONS_OK);
	CHECK(o.vfio[0].managed && !strcmp(o.vfio[0].claim.host, "04:00.1") && !o.vfio[0].claim.pf);
	s = &o.vfio[1].claim.settings;
	CHECK(o.vfio[1].managed && !o.vfio[1].host && !strcmp(o.vfio[1].claim.pf, "0000:00:02.0"));
	CHECK(o.vfio[1].claim.vf == CLAIM_VF_AUTO && s->set_mac && s->mac[5] == 0x01);
	CHECK(s->set_vlan && s->vlan == 100 && s->qos == 3 && s->set_trust && s->trust);
	CHECK(!s->set_spoofchk && !s->set_rate && !s->set_link);
	options_free(&o);
	CHECK(parse(&o, "--kernel=/k", "--vfio=pf=00:02.0,vf=2,spoofchk=off,bus=rp1", NULL, NULL) ==
	      OPTIONS_OK);
	CHECK(o.vfio[0].claim.vf == 2 && o.vfio[0].claim.settings.set_spoofchk &&
	      !o.vfio[0].claim.settings.spoofchk && !strcmp(o.vfio[0].bus, "rp1"));
	options_free(&o);
	CHECK(parse(&o, "--kernel=/k", "--vfio=host=04:00.1", NULL, NULL) == OPTIONS_OK);
	CHECK(!o.vfio[0].managed);
	options_free(&o);
	/* one function, named one way; a VF's keys with pf= only; pf= is always managed */
	CHECK(parse(&o, "--kernel=/k", "--vfio=host=04:00.1,pf=00:02.0", NULL, NULL) ==
	      OPTIONS_ERROR);
	CHECK(parse(&o, "--kernel=/k", "--vfio=host=04:00.1,vf=1", NULL, NULL) == OPTIONS_ERROR);
	CHECK(parse(&o, "--kernel=/k", "--vfio=host=04:00.1,mac=52:54:00:00:00:01", NULL, NULL) ==
	      OPTIONS_ERROR);
	CHECK(parse(&o, "--kernel=/k", "--vfio=pf=00:02.0,managed=off", NULL, NULL) ==
	      OPTIONS_ERROR);
	CHECK(parse(&o, "--kernel=/k", "--vfio=pf=00:02.0,vf=x", NULL, NULL) == OPTIONS_ERROR);
	CHECK(parse(&o, "--kernel=/k", "--vfio=pf=00:02.0,vlan=4096", NULL, NULL) == OPTIONS_ERROR);
	CHECK(parse(&o, "--kernel=/k", "--vfio=pf=00:02.0,qos=8", NULL, NULL) == OPTIONS_ERROR);
	CHECK(parse(&o, "--kernel=/k", "--vfio=pf=00:02.0,trust=yes", NULL, NULL) == OPTIONS_ERROR);
	CHECK(parse(&o, "--kernel=/k", "--vfio=pf=00:02.0,mac=ff:ff:ff:ff:ff:ff", NULL, NULL) ==
	      OPTIONS_ERROR);
	CHECK(parse(&o, "--kernel=/k", "--vfio=host=04:00.1,managed=maybe", NULL, NULL) ==
	      OPTIONS_ERROR);
}

static enum options_result parsev(struct vm_options *o, const char *const *args)
{
	char *argv[16] = {"run"};
	int argc = 1;

	while (*args && argc < 15)
		argv[argc++] = (char *)*args++;
	argv[argc] = NULL;
	return options_parse(argc, argv, o);
}

#define PARSE(o, ...) parsev(o, (const char *const[]){"--kernel=/k", __VA_ARGS__, NULL})

/* --numa node=...: two nodes, their vCPUs and memory, root complexes on them; and every
 * way the nodes can disagree with --cpus, --memory or each other. */
static void test_numa_options(void)
{
	struct vm_options o;

	CHECK(PARSE(&o, "--cpus=4", "--memory=1G", "--numa=node=1,cpus=1:3,memory=768M,host-node=1",
		    "--numa=node=0,cpus=0,cpus=2,memory=256M", "--pcie=root-complex,id=rc1,numa=1",
		    "--pcie=root-port,id=rp,bus=rc1", "--pcie=root-complex,id=rc2") == OPTIONS_OK);
	CHECK(o.numa.nr_nodes == 2 && o.numa.node[1].memory == 768ULL << 20);
	CHECK(o.numa.node[0].host_node == -1 && o.numa.node[1].host_node == 1);
	CHECK(guest_numa_cpu_node(&o.numa, 0) == 0 && guest_numa_cpu_node(&o.numa, 1) == 1 &&
	      guest_numa_cpu_node(&o.numa, 2) == 0 && guest_numa_cpu_node(&o.numa, 3) == 1);
	CHECK(o.nr_ports == 3 && o.port[0].is_root_complex && o.port[0].numa == 1);
	CHECK(!strcmp(o.port[1].bus, "rc1") && o.port[1].numa == -1 && !o.port[1].is_root_complex);
	CHECK(o.port[2].is_root_complex && o.port[2].numa == -1);
	options_free(&o);
	CHECK(PARSE(&o, "--cpus=3", "--memory=512M", "--numa=node=0,cpus=0-2,memory=512M") ==
	      OPTIONS_OK);
	CHECK(o.numa.nr_nodes == 1 && guest_numa_cpu_node(&o.numa, 2) == 0);
	options_free(&o);

	/* overlapping vCPUs, a vCPU in no node or past --cpus */
	CHECK(PARSE(&o, "--cpus=2", "--numa=node=0,cpus=0-1,memory=256M",
		    "--numa=node=1,cpus=1,memory=256M") == OPTIONS_ERROR);
	CHECK(PARSE(&o, "--cpus=3", "--numa=node=0,cpus=0,memory=256M",
		    "--numa=node=1,cpus=1,memory=256M") == OPTIONS_ERROR);
	CHECK(PARSE(&o, "--cpus=2", "--numa=node=0,cpus=0,memory=256M",
		    "--numa=node=1,cpus=1-2,memory=256M") == OPTIONS_ERROR);
	/* memory not summing up, not in 2M units; node 0 missing; a node twice */
	CHECK(PARSE(&o, "--cpus=2", "--numa=node=0,cpus=0,memory=256M",
		    "--numa=node=1,cpus=1,memory=128M") == OPTIONS_ERROR);
	CHECK(PARSE(&o, "--cpus=2", "--memory=514M", "--numa=node=0,cpus=0,memory=257M",
		    "--numa=node=1,cpus=1,memory=257M") == OPTIONS_ERROR);
	CHECK(PARSE(&o, "--numa=node=1,cpus=0,memory=512M") == OPTIONS_ERROR);
	CHECK(PARSE(&o, "--numa=node=0,cpus=0,memory=256M", "--numa=node=0,cpus=0,memory=256M") ==
	      OPTIONS_ERROR);
	/* malformed: no memory, bad CPU list, unknown key, node out of range */
	CHECK(PARSE(&o, "--numa=node=0,cpus=0") == OPTIONS_ERROR);
	CHECK(PARSE(&o, "--numa=node=0,cpus=1-0,memory=512M") == OPTIONS_ERROR);
	CHECK(PARSE(&o, "--numa=node=0,cpus=x,memory=512M") == OPTIONS_ERROR);
	CHECK(PARSE(&o, "--numa=node=0,cpus=0,memory=512M,policy=bind") == OPTIONS_ERROR);
	CHECK(PARSE(&o, "--numa=node=0,cpus=0,memory=0") == OPTIONS_ERROR);
	CHECK(PARSE(&o, "--numa=node=8,cpus=0,memory=512M") == OPTIONS_ERROR);
	CHECK(PARSE(&o, "--numa=node=0,cpus=0,memory=512M,host-node=64") == OPTIONS_ERROR);
	CHECK(PARSE(&o, "--numa=nodes=2") == OPTIONS_ERROR);
	/* a root complex on a node the guest lacks */
	CHECK(PARSE(&o, "--pcie=root-complex,id=rc,numa=0") == OPTIONS_ERROR);
	CHECK(PARSE(&o, "--numa=node=0,cpus=0,memory=512M", "--pcie=root-complex,id=rc,numa=1") ==
	      OPTIONS_ERROR);
}

/* add-device's words: exactly one device, parsed as conduit run parses it. */
static void test_device_options(void)
{
	char *disk[] = {"add-device", "--disk", "path=/img,bus=hp1,readonly=on"};
	char *two[] = {"add-device", "--rng", "--vfio", "host=0000:00:12.0"};
	char *kernel[] = {"add-device", "--kernel", "/boot/vmlinuz"};
	char *stray[] = {"add-device", "--rng", "extra"};
	char *none[] = {"add-device"};
	char *bad[] = {"add-device", "--disk", "path=/img,queues=99"};
	struct vm_options o;

	CHECK(!options_parse_device(3, disk, &o) && o.nr_disks == 1 && o.disk[0].blk.readonly &&
	      !strcmp(o.disk[0].bus, "hp1"));
	options_free(&o);
	CHECK(options_parse_device(4, two, &o));
	CHECK(options_parse_device(3, kernel, &o));
	CHECK(options_parse_device(3, stray, &o));
	CHECK(options_parse_device(1, none, &o));
	CHECK(options_parse_device(3, bad, &o));
}

int main(void)
{
	test_defaults();
	test_device_options();
	test_values();
	test_errors();
	test_sizes();
	test_topology_options();
	test_vfio_options();
	test_vfio_managed();
	test_numa_options();
	return CHECK_DONE();
}
