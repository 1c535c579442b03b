#!/bin/sh
# /test.sh of the control-socket guest (tests/nested/api.sh; modules virtio_pci
# virtio_blk virtio-rng button evdev). Prints, as lines the L1 side greps:
#   GUEST-PCI BDF VEN:DEV driver=D     one line per PCI function
#   GUEST-ACPID=started                busybox acpid waits on the power button's input
#                                      device; a press runs /etc/acpi/PWRF/00000080
#   GUEST-TICK N UPTIME                every second, until the power button ends it
#   GUEST-POWER-BUTTON                 the press arrived: the guest powers off
# shellcheck source=tests/nested/guest-lib.sh
. /guest-lib.sh

for d in /sys/bus/pci/devices/*; do
	drv=$(basename "$(readlink "$d/driver" 2>/dev/null)" 2>/dev/null)
	echo "GUEST-PCI ${d##*/} $(cat "$d/vendor"):$(cat "$d/device") driver=${drv:-none}"
done

# What a distribution's acpid or logind does with the button: a clean power-off.
mkdir -p /etc/acpi/PWRF
printf '#!/bin/sh\necho GUEST-POWER-BUTTON >/dev/console\nsync\npoweroff -f\n' >/etc/acpi/PWRF/00000080
chmod +x /etc/acpi/PWRF/00000080
if wait_for 20 [ -e /dev/input/event0 ]; then
	acpid -f -l /dev/null &
	echo "GUEST-ACPID=started"
else
	echo "GUEST-ACPID=no-input-device"
fi

n=0
while :; do
	echo "GUEST-TICK $n $(cut -d' ' -f1 /proc/uptime)"
	n=$((n + 1))
	sleep 1
done
