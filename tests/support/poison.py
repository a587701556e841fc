"""Redis keys of the test-only poison hook (``tests/support/poison_worker.py``), for tests
that arm it and read what it saw without importing the worker app."""

#: Redis set of ``customer/store/product``: a check of a batch holding one kills its worker.
POISONED = "test:poisoned-skus"
#: Redis list, per customer, of the sizes of the batches its checks were given.
CHECKED = "test:checked-batch-sizes:{}"
