/* Fixture for tools/check-layers: a primitive including a bus (upward). */
#include "pci/a.h"
