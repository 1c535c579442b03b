/* Fixture: pci/a and pci/b include each other (a cycle). */
#include "pci/b.h"
