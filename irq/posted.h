/*
 * Can an assigned function's interrupts be posted? A posted interrupt goes from the
 * device through the IOMMU's interrupt remapping table straight into the vCPU's
 * virtual APIC: no host interrupt handler, no irqfd write, no VM exit when the vCPU
 * is running. KVM sets that up itself for every MSI/MSI-X irqfd when the host allows
 * it; conduit can only say whether it will happen, and why not. The report is one
 * line per device, printed at start:
 *   vfio 0000:00:12.0: interrupts posted: VT-d posted interrupts (...)
 *   vfio 0000:00:12.0: interrupts not posted: <reason>; <fix>
 * All inputs are read under root ("/" on a host, a fake tree in the unit tests).
 */
#ifndef CONDUIT_IRQ_POSTED_H
#define CONDUIT_IRQ_POSTED_H

#include <stdbool.h>
#include <stddef.h>

enum irq_posted_kind {
	IRQ_POSTED_INTX, /* line interrupts: never posted */
	IRQ_POSTED_MSI,
	IRQ_POSTED_MSIX,
};

/* Writes the report line for bdf into line; true when interrupts will be posted. */
bool irq_posted_check(const char *root, const char *bdf, enum irq_posted_kind kind, char *line,
		      size_t len);

#endif
