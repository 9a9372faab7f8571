"""One module per implementation; each exposes one async function per workload.

Signature: ``async def WORKLOAD(n, clock, **params) -> result``. Set-up goes
before ``with clock:``, the run inside it; the worker checks the result.
"""

# implementation name (as shown in the table) -> module in this package
MODULES = {
    "direct": "direct",
    "raw-queue": "raw_queue",
    "raw-queue-batched": "raw_queue_batched",
    "pipelines": "pipelines_impl",
    "pipelines-sampled": "pipelines_sampled_impl",
    "pypeln": "pypeln_impl",
    "aiostream": "aiostream_impl",
    "streamz": "streamz_impl",
}

# the top-level library each module needs (missing -> "not installed")
LIBRARY = {
    "pipelines": "pipelines",
    "pipelines-sampled": "pipelines",
    "pypeln": "pypeln",
    "aiostream": "aiostream",
    "streamz": "streamz",
}
