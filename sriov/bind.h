/*
 * Moving a PCI function between host drivers the way the kernel documents it
 * (Documentation/ABI/testing/sysfs-bus-pci): driver_override names the one driver that
 * may take it, driver/unbind lets go, drivers_probe binds it again. For managed
 * assignment: onto vfio-pci at start, back to the driver it had at the end, with a
 * function reset (sysfs reset) between, while no driver holds it.
 */
#ifndef CONDUIT_SRIOV_BIND_H
#define CONDUIT_SRIOV_BIND_H

#include <stddef.h>

/* The driver bound to bdf into out ("" when none). */
void bind_driver(const char *root, const char *bdf, char *out, size_t len);
/* Its driver_override into out ("" when none). */
void bind_override(const char *root, const char *bdf, char *out, size_t len);

/* bdf onto vfio-pci (unbound from its driver first); 0, or -1 with one line in err. */
int bind_vfio(const char *root, const char *bdf, char *err, size_t errlen);

/* bdf off vfio-pci (if it is there), its override back to old_override ("": none),
 * reset, and on old again ("" leaves it without a driver); 0, or -1 with one line in
 * err. A function some other driver took meanwhile is left alone. */
int bind_restore(const char *root, const char *bdf, const char *old, const char *old_override,
		 char *err, size_t errlen);

#endif
