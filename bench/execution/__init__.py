"""Running cells: the driver, one cell, fitting, calibration, isolation, the store, executors."""
