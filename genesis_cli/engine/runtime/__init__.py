"""Where and how computation runs: the device (device.py), mixed precision (precision.py) and this
process's place in a multi-process launch (distributed.py). Training, sampling, benchmarks and the
CLI read these decisions here, so none of them imports the training package for them."""
