/* Host inventory (`conduit devices`) on fake sysfs trees laid out as Linux and libpci's
 * sysfs method have them: bus/pci/devices/BDF with vendor, device, class, config and
 * numa_node attributes, driver and iommu_group links, SR-IOV virtfnN and physfn links,
 * and kernel/iommu_groups/N/devices; names from a test pci.ids. */
#include "tests/common/fake_tree.h"
#include "tests/unit/check.h"
#include "vfio/inventory.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[256];

/* ---- building the fake tree ---- */

/* A function as the kernel shows it; the config image agrees with the attributes. */
static void add_dev(const char *sysfs, const char *bdf, unsigned int vendor, unsigned int device,
		    unsigned int class)
{
	unsigned char config[64] = {0};
	char dir[512];

	snprintf(dir, sizeof(dir), "%s/bus/pci/devices/%s", sysfs, bdf);
	tree_mkdirs(dir);
	tree_put_text(tree_at("%s/vendor", dir), tree_at("0x%04x\n", vendor));
	tree_put_text(tree_at("%s/device", dir), tree_at("0x%04x\n", device));
	tree_put_text(tree_at("%s/class", dir), tree_at("0x%06x\n", class));
	config[0] = vendor & 0xff;
	config[1] = vendor >> 8;
	config[2] = device & 0xff;
	config[3] = device >> 8;
	config[9] = class & 0xff;
	config[10] = (class >> 8) & 0xff;
	config[11] = class >> 16;
	tree_put(tree_at("%s/config", dir), config, sizeof(config));
}

static void set_driver(const char *sysfs, const char *bdf, const char *driver)
{
	tree_mkdirs(tree_at("%s/bus/pci/drivers/%s", sysfs, driver));
	tree_link(tree_at("../../drivers/%s", driver),
		  tree_at("%s/bus/pci/devices/%s/driver", sysfs, bdf));
}

static void set_group(const char *sysfs, const char *bdf, int group)
{
	const char *devices = tree_at("%s/kernel/iommu_groups/%d/devices", sysfs, group);

	tree_mkdirs(devices);
	tree_link(tree_at("../../../../bus/pci/devices/%s", bdf), tree_at("%s/%s", devices, bdf));
	tree_link(tree_at("../../../../kernel/iommu_groups/%d", group),
		  tree_at("%s/bus/pci/devices/%s/iommu_group", sysfs, bdf));
}

static void set_attr(const char *sysfs, const char *bdf, const char *attr, const char *value)
{
	tree_put_text(tree_at("%s/bus/pci/devices/%s/%s", sysfs, bdf, attr), value);
}

static void set_link(const char *sysfs, const char *bdf, const char *name, const char *to_bdf)
{
	tree_link(tree_at("../%s", to_bdf), tree_at("%s/bus/pci/devices/%s/%s", sysfs, bdf, name));
}

/* A vendor name with a quote, backslashes and non-ASCII letters (octal escapes, as a hex
 * escape would swallow the letters after it). */
#define ODD_VENDOR "Vendor \"Q\" \\B\\ \303\234n\303\257code"

/* Names for the test devices, in pci.ids format. */
static const char pci_ids[] = "# test names\n"
			      "8086  Intel Corporation\n"
			      "\t10c9  82576 Gigabit Network Connection\n"
			      "\t10ca  82576 Virtual Function\n"
			      "\t2918  82801IB (ICH9) LPC Interface Controller\n"
			      "\t29c0  82G33/G31/P35/P31 Express DRAM Controller\n"
			      "1234  " ODD_VENDOR "\n"
			      "\tabcd  Widget\n"
			      "C 02  Network controller\n"
			      "\t00  Ethernet controller\n"
			      "C 06  Bridge\n"
			      "\t00  Host bridge\n"
			      "\t01  ISA bridge\n";

/* A driver name with a quote, a control character, a byte that is not UTF-8 and an
 * overlong (so invalid) encoding of '/'. */
#define ODD_DRIVER "we\"ird\001\377\340\200\257"
#define FFFD	   "\xef\xbf\xbd" /* U+FFFD in UTF-8 */

/* An IOMMU host: a group of two, an igb PF with two of its seven VFs enabled, one
 * function outside any group with SR-IOV off. */
static void build_iommu_tree(const char *s)
{
	add_dev(s, "0000:00:00.0", 0x8086, 0x29c0, 0x060000);
	set_group(s, "0000:00:00.0", 0);
	set_attr(s, "0000:00:00.0", "numa_node", "0\n");

	add_dev(s, "0000:00:1f.0", 0x8086, 0x2918, 0x060100);
	set_driver(s, "0000:00:1f.0", "lpc_ich");
	set_group(s, "0000:00:1f.0", 0);
	set_attr(s, "0000:00:1f.0", "numa_node", "0\n");

	add_dev(s, "0000:00:02.0", 0x8086, 0x10c9, 0x020000);
	set_driver(s, "0000:00:02.0", "igb");
	set_group(s, "0000:00:02.0", 3);
	set_attr(s, "0000:00:02.0", "numa_node", "1\n");
	set_attr(s, "0000:00:02.0", "sriov_totalvfs", "7\n");
	set_attr(s, "0000:00:02.0", "sriov_numvfs", "2\n");
	set_link(s, "0000:00:02.0", "virtfn0", "0000:00:12.0");
	set_link(s, "0000:00:02.0", "virtfn1", "0000:00:12.2");

	add_dev(s, "0000:00:12.0", 0x8086, 0x10ca, 0x020000);
	set_driver(s, "0000:00:12.0", "vfio-pci");
	set_group(s, "0000:00:12.0", 9);
	set_attr(s, "0000:00:12.0", "numa_node", "1\n");
	set_link(s, "0000:00:12.0", "physfn", "0000:00:02.0");

	add_dev(s, "0000:00:12.2", 0x8086, 0x10ca, 0x020000);
	set_group(s, "0000:00:12.2", 10);
	set_attr(s, "0000:00:12.2", "numa_node", "1\n");
	set_link(s, "0000:00:12.2", "physfn", "0000:00:02.0");

	add_dev(s, "0000:00:03.0", 0x1234, 0xabcd, 0x0b4000);
	set_driver(s, "0000:00:03.0", ODD_DRIVER);
	set_attr(s, "0000:00:03.0", "sriov_totalvfs", "4\n");
	set_attr(s, "0000:00:03.0", "sriov_numvfs", "0\n");
	/* node 1's CPUs are known, node 0's are not (no such directory) */
	tree_mkdirs(tree_at("%s/devices/system/node/node1", s));
	tree_put_text(tree_at("%s/devices/system/node/node1/cpulist", s), "2-3\n");
}

/* No IOMMU; domains that sort differently as text and as numbers (VMD uses 10000+). */
static void build_plain_tree(const char *s)
{
	add_dev(s, "10000:e1:00.0", 0x8086, 0x10c9, 0x020000);
	add_dev(s, "0001:00:00.0", 0x8086, 0x29c0, 0x060000);
	add_dev(s, "0000:00:01.0", 0x8086, 0x10c9, 0x020000);
	set_driver(s, "0000:00:01.0", "igb");
}

/* ---- scanning and capturing output ---- */

static int scan(const char *sysfs, struct inventory *inv)
{
	struct inventory_source src = {.sysfs = sysfs, .pci_ids = tree_at("%s/pci.ids", root)};

	return inventory_scan(&src, inv);
}

static char *render(const struct inventory *inv, bool json)
{
	char *text = NULL;
	size_t len;
	FILE *f = open_memstream(&text, &len);

	if (json)
		inventory_print_json(inv, f);
	else
		inventory_print_plain(inv, f);
	fclose(f);
	return text;
}

/* ---- a small strict JSON parser (RFC 8259) for checking the output ---- */

enum jtype { J_NULL, J_TRUE, J_FALSE, J_NUM, J_STR, J_ARR, J_OBJ };

struct jv {
	enum jtype type;
	double num;
	char *str; /* J_STR, decoded */
	char *key; /* when a member of an object */
	struct jv *items;
	size_t count;
};

static bool j_value(const char **p, struct jv *v);

static void j_ws(const char **p)
{
	while (**p == ' ' || **p == '\t' || **p == '\n' || **p == '\r')
		(*p)++;
}

static int j_hex4(const char *s)
{
	int v = 0;

	for (int i = 0; i < 4; i++) {
		char c = s[i];
		int d = c >= '0' && c <= '9'   ? c - '0'
			: c >= 'a' && c <= 'f' ? c - 'a' + 10
			: c >= 'A' && c <= 'F' ? c - 'A' + 10
					       : -1;
		if (d < 0)
			return -1;
		v = v * 16 + d;
	}
	return v;
}

static void j_put_utf8(char **o, int cp)
{
	if (cp < 0x80) {
		*(*o)++ = (char)cp;
	} else if (cp < 0x800) {
		*(*o)++ = (char)(0xc0 | cp >> 6);
		*(*o)++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*(*o)++ = (char)(0xe0 | cp >> 12);
		*(*o)++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*(*o)++ = (char)(0x80 | (cp & 0x3f));
	}
}

static bool j_escape(const char **p, char **o)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *e = strchr(from, **p);
	int cp;

	if (**p && e) {
		*(*o)++ = to[e - from];
		(*p)++;
		return true;
	}
	if (**p != 'u')
		return false;
	cp = j_hex4(*p + 1);
	if (cp < 0 || (cp >= 0xd800 && cp <= 0xdfff)) /* the emitter needs no pairs */
		return false;
	j_put_utf8(o, cp);
	*p += 5;
	return true;
}

static bool j_string(const char **p, char **out)
{
	char *o;

	if (**p != '"')
		return false;
	(*p)++;
	*out = o = malloc(strlen(*p) + 1);
	while (**p != '"') {
		unsigned char c = (unsigned char)**p;

		if (c < 0x20) /* also the end of the text */
			return false;
		(*p)++;
		if (c != '\\')
			*o++ = (char)c;
		else if (!j_escape(p, &o))
			return false;
	}
	(*p)++;
	*o = '\0';
	return true;
}

static bool j_number(const char **p, struct jv *v)
{
	const char *s = *p;
	char *end;

	if (*s == '-')
		s++;
	if (*s < '0' || *s > '9' || (s[0] == '0' && s[1] >= '0' && s[1] <= '9'))
		return false;
	v->type = J_NUM;
	v->num = strtod(*p, &end);
	*p = end;
	return true;
}

/* An array or object: items separated by commas, members are "key": value. */
static bool j_items(const char **p, struct jv *v, char close, bool members)
{
	(*p)++;
	j_ws(p);
	if (**p == close) {
		(*p)++;
		return true;
	}
	for (;;) {
		struct jv *it;

		v->items = realloc(v->items, (v->count + 1) * sizeof(*v->items));
		it = &v->items[v->count++];
		*it = (struct jv){0};
		j_ws(p);
		if (members) {
			if (!j_string(p, &it->key))
				return false;
			j_ws(p);
			if (*(*p)++ != ':')
				return false;
		}
		if (!j_value(p, it))
			return false;
		j_ws(p);
		if (**p == close) {
			(*p)++;
			return true;
		}
		if (*(*p)++ != ',')
			return false;
	}
}

static bool j_word(const char **p, const char *word, enum jtype type, struct jv *v)
{
	if (strncmp(*p, word, strlen(word)))
		return false;
	*p += strlen(word);
	v->type = type;
	return true;
}

static bool j_value(const char **p, struct jv *v)
{
	j_ws(p);
	switch (**p) {
	case '{':
		v->type = J_OBJ;
		return j_items(p, v, '}', true);
	case '[':
		v->type = J_ARR;
		return j_items(p, v, ']', false);
	case '"':
		v->type = J_STR;
		return j_string(p, &v->str);
	case 'n':
		return j_word(p, "null", J_NULL, v);
	case 't':
		return j_word(p, "true", J_TRUE, v);
	case 'f':
		return j_word(p, "false", J_FALSE, v);
	default:
		return j_number(p, v);
	}
}

/* The whole text is one value and nothing else. */
static bool j_parse(const char *text, struct jv *v)
{
	*v = (struct jv){0};
	if (!j_value(&text, v))
		return false;
	j_ws(&text);
	return *text == '\0';
}

static void j_free(struct jv *v)
{
	for (size_t i = 0; i < v->count; i++)
		j_free(&v->items[i]);
	free(v->items);
	free(v->str);
	free(v->key);
}

static const struct jv *j_get(const struct jv *obj, const char *key)
{
	if (!obj || obj->type != J_OBJ)
		return NULL;
	for (size_t i = 0; i < obj->count; i++)
		if (obj->items[i].key && !strcmp(obj->items[i].key, key))
			return &obj->items[i];
	return NULL;
}

static bool j_is_str(const struct jv *v, const char *s)
{
	return v && v->type == J_STR && !strcmp(v->str, s);
}

static bool j_is_num(const struct jv *v, double n)
{
	return v && v->type == J_NUM && v->num == n;
}

static bool j_is_null(const struct jv *v)
{
	return v && v->type == J_NULL;
}

/* An array of exactly these strings, in order; the list ends with NULL. */
static bool j_is_strs(const struct jv *v, ...)
{
	const char *s;
	size_t i = 0;
	va_list ap;
	bool ok = v && v->type == J_ARR;

	va_start(ap, v);
	while (ok && (s = va_arg(ap, const char *)))
		ok = i < v->count && j_is_str(&v->items[i++], s);
	va_end(ap);
	return ok && i == v->count;
}

static const struct jv *j_dev(const struct jv *arr, const char *bdf)
{
	for (size_t i = 0; i < arr->count; i++)
		if (j_is_str(j_get(&arr->items[i], "bdf"), bdf))
			return &arr->items[i];
	return NULL;
}

/* ---- the tests ---- */

static void test_plain(const struct inventory *inv)
{
	char *text = render(inv, false);
	bool same = !strcmp(
		text,
		"0000:00:00.0  Host bridge: Intel Corporation 82G33/G31/P35/P31 Express DRAM "
		"Controller [8086:29c0]  driver=none  iommu_group=0 (with 0000:00:1f.0)  "
		"numa=0\n"
		"0000:00:02.0  Ethernet controller: Intel Corporation 82576 Gigabit Network "
		"Connection [8086:10c9]  driver=igb  iommu_group=3 (alone)  numa=1 node-cpus=2-3  "
		"sriov=2/7 vfs=0000:00:12.0,0000:00:12.2\n"
		"0000:00:03.0  Class 0b40: " ODD_VENDOR " Widget "
		"[1234:abcd]  driver=" ODD_DRIVER "  iommu_group=none  numa=-1  sriov=0/4\n"
		"0000:00:12.0  Ethernet controller: Intel Corporation 82576 Virtual Function "
		"[8086:10ca]  driver=vfio-pci  iommu_group=9 (alone)  numa=1 node-cpus=2-3  "
		"vf-of=0000:00:02.0\n"
		"0000:00:12.2  Ethernet controller: Intel Corporation 82576 Virtual Function "
		"[8086:10ca]  driver=none  iommu_group=10 (alone)  numa=1 node-cpus=2-3  "
		"vf-of=0000:00:02.0\n"
		"0000:00:1f.0  ISA bridge: Intel Corporation 82801IB (ICH9) LPC Interface "
		"Controller [8086:2918]  driver=lpc_ich  iommu_group=0 (with 0000:00:00.0)  "
		"numa=0\n");

	CHECK(same);
	if (!same)
		fprintf(stderr, "plain output was:\n%s", text);
	free(text);
}

static void test_json_pf_vf(const struct jv *arr)
{
	const struct jv *pf = j_dev(arr, "0000:00:02.0"), *vf = j_dev(arr, "0000:00:12.0");
	const struct jv *sriov = j_get(pf, "sriov");

	CHECK(j_is_str(j_get(pf, "vendor_id"), "8086"));
	CHECK(j_is_str(j_get(pf, "device_id"), "10c9"));
	CHECK(j_is_str(j_get(pf, "class"), "0200"));
	CHECK(j_is_str(j_get(pf, "class_name"), "Ethernet controller"));
	CHECK(j_is_str(j_get(pf, "name"), "Intel Corporation 82576 Gigabit Network Connection"));
	CHECK(j_is_str(j_get(pf, "driver"), "igb"));
	CHECK(j_is_num(j_get(pf, "iommu_group"), 3));
	CHECK(j_is_strs(j_get(pf, "group_members"), NULL));
	CHECK(j_is_num(j_get(pf, "numa_node"), 1));
	CHECK(j_is_str(j_get(pf, "node_cpus"), "2-3"));
	CHECK(j_is_num(j_get(sriov, "num_vfs"), 2));
	CHECK(j_is_num(j_get(sriov, "total_vfs"), 7));
	CHECK(j_is_strs(j_get(sriov, "vfs"), "0000:00:12.0", "0000:00:12.2", NULL));
	CHECK(!j_get(pf, "physfn"));

	CHECK(j_is_str(j_get(vf, "device_id"), "10ca"));
	CHECK(j_is_str(j_get(vf, "driver"), "vfio-pci"));
	CHECK(j_is_num(j_get(vf, "iommu_group"), 9));
	CHECK(j_is_str(j_get(vf, "physfn"), "0000:00:02.0"));
	CHECK(!j_get(vf, "sriov"));
	CHECK(j_is_null(j_get(j_dev(arr, "0000:00:12.2"), "driver")));
}

static void test_json_groups(const struct jv *arr)
{
	const struct jv *host = j_dev(arr, "0000:00:00.0"), *odd = j_dev(arr, "0000:00:03.0");

	CHECK(j_is_null(j_get(host, "driver")));
	CHECK(j_is_num(j_get(host, "iommu_group"), 0));
	CHECK(j_is_strs(j_get(host, "group_members"), "0000:00:1f.0", NULL));
	CHECK(j_is_strs(j_get(j_dev(arr, "0000:00:1f.0"), "group_members"), "0000:00:00.0", NULL));

	/* escaping: quote and backslash escaped, UTF-8 kept, a control character as
	 * \u0001, each byte of the invalid sequences replaced by U+FFFD */
	CHECK(j_is_str(j_get(odd, "name"), ODD_VENDOR " Widget"));
	CHECK(j_is_str(j_get(odd, "driver"), "we\"ird\x01" FFFD FFFD FFFD FFFD));
	CHECK(j_is_str(j_get(odd, "class_name"), "Class 0b40"));
	CHECK(j_is_null(j_get(odd, "iommu_group")));
	CHECK(j_is_strs(j_get(odd, "group_members"), NULL));
	CHECK(j_is_num(j_get(odd, "numa_node"), -1));
	CHECK(j_is_null(j_get(odd, "node_cpus")));
	CHECK(j_is_num(j_get(j_get(odd, "sriov"), "num_vfs"), 0));
	CHECK(j_is_strs(j_get(j_get(odd, "sriov"), "vfs"), NULL));
}

static void test_json(const struct inventory *inv)
{
	char *text = render(inv, true);
	struct jv arr;
	bool parsed = j_parse(text, &arr);

	CHECK(parsed);
	CHECK(arr.type == J_ARR && arr.count == 6);
	for (size_t i = 0; i < arr.count; i++)
		CHECK(j_get(&arr.items[i], "bdf") && j_get(&arr.items[i], "group_members"));
	CHECK(strstr(text, "\\u0001\\ufffd\\ufffd\\ufffd\\ufffd\""));
	CHECK(!strchr(text, '\x01') && !strchr(text, '\xff'));
	if (arr.type == J_ARR) {
		test_json_pf_vf(&arr);
		test_json_groups(&arr);
	}
	if (!parsed)
		fprintf(stderr, "JSON output was:\n%s", text);
	j_free(&arr);
	free(text);
}

static void test_iommu_host(void)
{
	char sysfs[512];
	struct inventory inv;

	snprintf(sysfs, sizeof(sysfs), "%s/iommu", root);
	build_iommu_tree(sysfs);
	CHECK(scan(sysfs, &inv) == 0);
	CHECK(inv.count == 6);
	if (inv.count != 6)
		return;
	test_plain(&inv);
	test_json(&inv);
	inventory_free(&inv);
}

static void test_no_iommu(void)
{
	char sysfs[512], *text;
	struct inventory inv;
	struct jv arr;

	snprintf(sysfs, sizeof(sysfs), "%s/plain", root);
	build_plain_tree(sysfs);
	CHECK(scan(sysfs, &inv) == 0);
	text = render(&inv, false);
	CHECK(!strcmp(text,
		      "0000:00:01.0  Ethernet controller: Intel Corporation 82576 Gigabit "
		      "Network Connection [8086:10c9]  driver=igb  iommu_group=none  numa=-1\n"
		      "0001:00:00.0  Host bridge: Intel Corporation 82G33/G31/P35/P31 Express "
		      "DRAM Controller [8086:29c0]  driver=none  iommu_group=none  numa=-1\n"
		      "10000:e1:00.0  Ethernet controller: Intel Corporation 82576 Gigabit "
		      "Network Connection [8086:10c9]  driver=none  iommu_group=none  numa=-1\n"
		      "no IOMMU groups: boot the host with intel_iommu=on (AMD-Vi is on unless "
		      "amd_iommu=off) to "
		      "assign devices\n"));
	free(text);
	text = render(&inv, true);
	CHECK(j_parse(text, &arr) && arr.count == 3);
	CHECK(arr.count == 3 && j_is_str(j_get(&arr.items[2], "bdf"), "10000:e1:00.0"));
	CHECK(arr.count == 3 && j_is_null(j_get(&arr.items[0], "iommu_group")));
	j_free(&arr);
	free(text);
	inventory_free(&inv);
}

static void test_empty_and_missing(void)
{
	char sysfs[512], *text;
	struct inventory inv;

	snprintf(sysfs, sizeof(sysfs), "%s/empty", root);
	tree_mkdirs(tree_at("%s/bus/pci/devices", sysfs));
	CHECK(scan(sysfs, &inv) == 0 && inv.count == 0);
	text = render(&inv, false);
	CHECK(!strcmp(text, "no PCI devices found\n"));
	free(text);
	text = render(&inv, true);
	CHECK(!strcmp(text, "[]\n"));
	free(text);
	inventory_free(&inv);

	CHECK(scan(tree_at("%s/absent", root), &inv) == -1); /* logs one line */
}

int main(void)
{
	snprintf(root, sizeof(root), "%s/conduit-inventory-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 1;
	}
	tree_put_text(tree_at("%s/pci.ids", root), pci_ids);
	test_iommu_host();
	test_no_iommu();
	test_empty_and_missing();
	tree_remove(root);
	return CHECK_DONE();
}
