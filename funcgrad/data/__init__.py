"""funcgrad.data: data sets and minibatches for training loops.

    from funcgrad import data, random
    images, labels = data.load_digits()
    (x_train, y_train), (x_test, y_test) = data.split(random.PRNGKey(0), images, labels)
    for xb, yb in data.batches(random.PRNGKey(1), x_train, y_train, batch_size=64):
        ...

Everything here returns host NumPy arrays, which jitted functions take as they are.
The bundled digits (funcgrad/data/digits.py says where they come from) need no download;
MNIST is read from IDX files you have on disk.
"""

from funcgrad.data.digits import load_digits
from funcgrad.data.idx import load_mnist, read_idx
from funcgrad.data.sampling import batches, split

__all__ = ["batches", "load_digits", "load_mnist", "read_idx", "split"]
