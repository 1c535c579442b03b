/* virtio-rng, the entropy device (virtio 1.2 §5.4), fed by getrandom(2). */
#ifndef CONDUIT_VIRTIO_RNG_H
#define CONDUIT_VIRTIO_RNG_H

#include "virtio/virtio_dev.h"

struct virtio_dev *rng_create(void);

#endif
