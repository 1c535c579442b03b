/* Fixture: defines a function pci/a.h declares (misplaced). */
#include "pci/a.h"

int a_fn(void)
{
	return 0;
}
