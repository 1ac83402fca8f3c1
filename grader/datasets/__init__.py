"""The datasets the Keras exercises load, found on this machine and offered to kernels offline.

Students call Keras' own loaders (`keras.datasets.fashion_mnist.load_data()`), which look in
`$KERAS_HOME/datasets/` (Keras 3: `keras.src.utils.file_utils.get_file` with
`cache_dir=keras_home()`), and download on a miss:

    fashion_mnist  datasets/fashion-mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz
                   (no hash check)
    mnist          datasets/mnist.npz (sha256 checked: a file with another hash is downloaded again)
    cifar10        datasets/cifar-10-batches-py-target_archive (the official
                   cifar-10-python.tar.gz, sha256 checked), extracted on every load into
                   datasets/cifar-10-batches-py-target/

The grader finds each dataset on the machine, looked for in this order:

1. the folder the instructor names (`CNN_GRADER_DATASETS`, or `--datasets`), flat or in Keras'
   layout: trusted as it is, so that a mirror or a purpose-built file works;
2. an existing Keras cache (`$KERAS_HOME` or `~/.keras`);
3. system packages (Debian's `dataset-fashion-mnist` in /usr/share/datasets/fashion-mnist);
4. files downloaded into the grader's own Keras cache (`<cache root>/keras`, where
   `cnn-grader datasets fetch` has Keras download them on an online machine).

Sources 2-4 must match the official content: the sha256 of the *uncompressed* bytes for the
`.gz` files (Debian re-compresses them, so the compressed bytes differ from Keras' download),
of the file itself for mnist.npz and the CIFAR-10 archive.

**What kernels get, and what they never get.** Kernels get their own Keras home
(`<cache root>/kernel-keras`, as `KERAS_HOME`): the training files are links to the located
source, the test files are the grader's own copies holding only the *first half* of the test
split (valid IDX `.gz` files, and for MNIST an `mnist.npz` whose `x_test`/`y_test` are cut the
same way). The grader evaluates trained models on the *other half*, read from the located source,
so a notebook that trains on its `x_test` (or saves a model trained on it) gains nothing on the
images it is judged on; the sandbox hides the source folders from the kernel (the training
files linked from them stay visible). Keras pins mnist.npz's sha256 (`get_file` takes a file with
another hash for a broken download and downloads it again, which fails offline), so the kernel's
start-up code (`grader/probe/prelude.py`) has `keras.datasets.mnist.load_data()` accept the
grader's copy instead, by the sha256 the grader gives it (`SERVED_MNIST_ENV`). CIFAR-10 is
served already extracted, with the first half of its test batch, and the start-up code has
`keras.datasets.cifar10.load_data()` read that folder (`grader.cifar10_files` says why).

The package, one job a module: `registry` (which datasets, their files and hashes, the grader's
folders), `sources` (finding each dataset on this machine and verifying it), `served` (the
kernels' Keras home, with the first half of each test split) and `held_out` (reading the other
half, which the grader evaluates on).
"""
