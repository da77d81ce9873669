"""Atomic loads and stores on int64 arrays, for threads that poll each other.

numba has no atomics on the CPU; these intrinsics emit LLVM's ``load
atomic``, ``store atomic`` and ``cmpxchg`` (sequentially consistent), which
a polling loop cannot hoist out of the loop, and which order the plain
writes to shared buffers before them; ``cpu_pause`` and ``cpu_yield`` make
a polling loop leave the core to others. ``_threads.py`` and the serving kernels of
``_kernels.py`` use them.
"""

import platform

from llvmlite import ir
from numba import njit
from numba.core import cgutils, types
from numba.extending import intrinsic


def _item_pointer(context, builder, array_type, array, index):
    ary = context.make_array(array_type)(context, builder, array)
    return cgutils.get_item_pointer(context, builder, array_type, ary, [index])


@intrinsic
def atomic_load(typingctx, array, index):
    """``array[index]`` of an int64 array, read with an atomic load."""
    if not (isinstance(array, types.Array) and array.dtype == types.int64):
        return None

    def codegen(context, builder, signature, args):
        ptr = _item_pointer(context, builder, signature.args[0], args[0], args[1])
        return builder.load_atomic(ptr, "seq_cst", 8)

    return types.int64(array, types.intp), codegen


@intrinsic
def atomic_store(typingctx, array, index, value):
    """``array[index] = value`` on an int64 array, with an atomic store."""
    if not (isinstance(array, types.Array) and array.dtype == types.int64):
        return None

    def codegen(context, builder, signature, args):
        ptr = _item_pointer(context, builder, signature.args[0], args[0], args[1])
        value = context.cast(builder, args[2], signature.args[2], types.int64)
        builder.store_atomic(value, ptr, "seq_cst", 8)
        return ir.Constant(ir.IntType(8), 0)

    return types.int8(array, types.intp, types.int64), codegen


@intrinsic
def atomic_cas(typingctx, array, index, expected, value):
    """``array[index] = value`` if it holds ``expected`` (int64 array), as one
    atomic compare-and-swap; whether it did."""
    if not (isinstance(array, types.Array) and array.dtype == types.int64):
        return None

    def codegen(context, builder, signature, args):
        ptr = _item_pointer(context, builder, signature.args[0], args[0], args[1])
        expected = context.cast(builder, args[2], signature.args[2], types.int64)
        value = context.cast(builder, args[3], signature.args[3], types.int64)
        result = builder.cmpxchg(ptr, expected, value, "seq_cst", "seq_cst")
        return builder.extract_value(result, 1)

    return types.boolean(array, types.intp, types.int64, types.int64), codegen


_X86 = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686")


@intrinsic
def cpu_pause(typingctx):
    """The x86 ``pause`` instruction (nothing elsewhere): a polling loop
    leaves the core's other hardware thread its resources."""

    def codegen(context, builder, signature, args):
        if _X86:
            pause = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(ir.VoidType(), []),
                "llvm.x86.sse2.pause")
            builder.call(pause, [])
        return ir.Constant(ir.IntType(8), 0)

    return types.int8(), codegen


_HAS_SCHED_YIELD = platform.system() in ("Linux", "Darwin")


@intrinsic
def cpu_yield(typingctx):
    """``sched_yield()`` where there is one (nothing elsewhere): a polling
    thread gives its core to a thread that has work, when the cores are
    shared with other processes."""

    def codegen(context, builder, signature, args):
        if _HAS_SCHED_YIELD:
            sched_yield = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(ir.IntType(32), []), "sched_yield")
            builder.call(sched_yield, [])
        return ir.Constant(ir.IntType(8), 0)

    return types.int8(), codegen


# A polling loop yields its core once every this many polls (a few
# microseconds).
_POLLS_PER_YIELD = 128


@njit(cache=True, nogil=True)
def spin_while(control, index, value, n_spins):
    """Poll ``control[index]`` while it equals ``value``, at most ``n_spins``
    times, without the GIL; return its last value."""
    current = atomic_load(control, index)
    for i in range(n_spins):
        if current != value:
            break
        cpu_pause()
        if i % _POLLS_PER_YIELD == _POLLS_PER_YIELD - 1:
            cpu_yield()
        current = atomic_load(control, index)
    return current


@njit(cache=True, nogil=True)
def store(control, index, value):
    """``control[index] = value``, atomically."""
    atomic_store(control, index, value)


@njit(cache=True, nogil=True)
def load(control, index):
    """``control[index]``, read atomically."""
    return atomic_load(control, index)


@njit(cache=True, nogil=True)
def claim(control, index, expected, value):
    """``control[index]`` from ``expected`` to ``value`` if nobody else did
    first (compare-and-swap); whether this call did."""
    return atomic_cas(control, index, expected, value)
