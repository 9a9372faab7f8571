import asyncio, pytest
def _dump():
    for task in asyncio.all_tasks():
        print("TASK", task.get_name(), task.cancelling())
        c = task.get_coro()
        while c is not None:
            f = getattr(c, "cr_frame", None)
            if f is not None: print("   ", f.f_code.co_filename.split("/")[-1], f.f_lineno, f.f_code.co_name)
            c = getattr(c, "cr_await", None)
            if c is not None and not hasattr(c, "cr_frame"): print("    ->", c); break
@pytest.fixture(autouse=True)
async def dumper():
    h = asyncio.get_running_loop().call_later(15, _dump)
    yield
    h.cancel()
