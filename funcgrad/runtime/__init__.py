"""What runs: the Array type, devices and buffers, and the executables jit builds."""
