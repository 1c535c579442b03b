/* Guest-initiated power-off and reset: ACPI PM1 registers, 0xcf9 and the 8042 line;
 * and the ACPI fixed power button, which the host presses. */
#ifndef CONDUIT_POWER_H
#define CONDUIT_POWER_H

#include "vmm/base/iobus.h"

#include <pthread.h>
#include <stdbool.h>

enum power_event {
	POWER_OFF,
	POWER_RESET,
};

typedef void (*power_event_fn)(void *ctx, enum power_event ev, const char *how);
/* The SCI's level (a level-triggered ISA IRQ, the FADT's SCI_INT). */
typedef void (*power_sci_fn)(void *ctx, bool level);

struct power {
	power_event_fn event;
	power_sci_fn sci;
	void *ctx;
	pthread_mutex_t lock; /* PM1 status and enables: vCPUs and the host's button */
	uint16_t pm1_sts, pm1_en, pm1_cnt;
	bool sci_level;
	uint8_t rst_cnt;
};

#define POWER_S5_SLP_TYP  5    /* the SLP_TYP value the DSDT's \_S5 package names */
#define POWER_RESET_VALUE 0x06 /* FADT RESET_VALUE: RST_CPU | SYS_RST at 0xcf9 */

void power_init(struct power *pm, power_event_fn event, power_sci_fn sci, void *ctx);
void power_destroy(struct power *pm);
/* Presses the power button; true when the guest has enabled its event (an OS with an
 * ACPI button driver), so that it sees the press. */
bool power_button_press(struct power *pm);
struct io_region power_pm1_evt_region(struct power *pm, uint16_t port);
struct io_region power_pm1_cnt_region(struct power *pm, uint16_t port);
struct io_region power_reset_region(struct power *pm, uint16_t port);
struct io_region power_i8042_region(struct power *pm, uint16_t port);

#endif
