/*
 * Version 2 PCIe capability. Links report 8 GT/s x16 as trained; a port with a slot
 * (root ports and switch downstream ports) reports Data Link Layer Link Active
 * Reporting, and its slot's presence and link state are pci/hotplug.c's. The port
 * number doubles as the physical slot number.
 */
#include "pci/pcie.h"
#include "pci/config.h"

#define LINK_SPEED_8GT 3
#define LINK_WIDTH_X16 16
#define PCIE_CAP_SIZE  0x3c /* version 2, through Slot Status 2 */

static bool has_slot(uint8_t type)
{
	return type == PCI_EXP_TYPE_ROOT_PORT || type == PCI_EXP_TYPE_DOWNSTREAM;
}

bool pcie_has_slot(const struct pci_dev *d)
{
	unsigned int c = pci_cap_find(d, PCI_CAP_ID_EXP);

	return c && (pci_get16(d, c + PCI_EXP_FLAGS) & PCI_EXP_FLAGS_SLOT);
}

unsigned int pcie_cap_add(struct pci_dev *d, uint8_t type, uint8_t port_number)
{
	unsigned int c = pci_cap_add(d, PCI_CAP_ID_EXP, PCIE_CAP_SIZE);
	uint16_t flags = 2 | (uint16_t)(type << 4); /* capability version 2 */

	if (!c)
		return 0;
	if (has_slot(type))
		flags |= PCI_EXP_FLAGS_SLOT;
	pci_set16(d, c + PCI_EXP_FLAGS, flags);
	pci_set32(d, c + PCI_EXP_DEVCAP, PCI_EXP_DEVCAP_RBER);
	/* Device Control: error reporting enables, relaxed ordering, max payload/read
	 * request, no-snoop are the driver's to set. */
	pci_set_wmask16(d, c + PCI_EXP_DEVCTL, 0x7fff);
	pci_set_w1c16(d, c + PCI_EXP_DEVSTA, 0x000f);
	pci_set32(d, c + PCI_EXP_LNKCAP,
		  LINK_SPEED_8GT | LINK_WIDTH_X16 << 4 | (uint32_t)port_number << 24 |
			  (has_slot(type) ? PCI_EXP_LNKCAP_DLLLARC : 0));
	pci_set_wmask16(d, c + PCI_EXP_LNKCTL,
			PCI_EXP_LNKCTL_ASPMC | PCI_EXP_LNKCTL_RCB | PCI_EXP_LNKCTL_CCC |
				PCI_EXP_LNKCTL_ES);
	pci_set16(d, c + PCI_EXP_LNKSTA, LINK_SPEED_8GT | LINK_WIDTH_X16 << 4);
	if (has_slot(type)) {
		pci_set32(d, c + PCI_EXP_SLTCAP, (uint32_t)port_number << 19);
		pci_set_wmask16(d, c + PCI_EXP_SLTCTL, 0x1fff);
		pci_set_w1c16(d, c + PCI_EXP_SLTSTA, 0x011f);
	}
	if (type == PCI_EXP_TYPE_ROOT_PORT) {
		pci_set_wmask16(d, c + PCI_EXP_RTCTL, 0x001f);
		pci_set_w1c16(d, c + PCI_EXP_RTSTA + 2, 0x0001); /* PME status */
	}
	pci_set32(d, c + PCI_EXP_LNKCAP2, 0x0e); /* 2.5, 5 and 8 GT/s supported */
	pci_set16(d, c + PCI_EXP_LNKCTL2, LINK_SPEED_8GT);
	pci_set_wmask16(d, c + PCI_EXP_LNKCTL2, 0x000f);
	pci_set_wmask16(d, c + PCI_EXP_DEVCTL2, 0x041f);
	return c;
}
