"""Print the BLAS numpy uses here, as threadpoolctl sees it: library, kernel, threads.

`make test` prints it for make notebooks' set-up and for nbval's, which must differ (another
OpenBLAS kernel through OPENBLAS_CORETYPE, one thread)."""

import numpy  # noqa: F401  (loads the BLAS that threadpoolctl then reports)
from threadpoolctl import threadpool_info

blas = [info for info in threadpool_info() if info.get("user_api") == "blas"]
print("; ".join(f"{info['internal_api']} {info.get('version')}, kernel "
                f"{info.get('architecture')}, {info['num_threads']} thread(s)" for info in blas)
      or "no BLAS found by threadpoolctl")
