"""Numba kernels that count the distinct colours of an image.

A colour is a packed code, ``R << 16 | G << 8 | B`` (RGB) or ``R << 24 |
G << 16 | B << 8 | A`` (RGBA), one uint32 per pixel. ``unique_codes`` gives
what ``np.unique(codes, return_inverse=True, return_counts=True)`` gives:
the distinct codes in increasing order, the number of pixels of each, and the
index of every pixel's code among them. Two ways, both serial and ``nogil``:

- ``unique_codes_bitmap``, for RGB codes (below 2**24): one bit per possible
  colour (2 MiB) marks the colours present, the count of set bits before
  each 64-bit word (1 MiB) ranks them, and a second pass over the pixels
  reads every pixel's rank and counts it. Linear time, no sort, and the two
  tables stay in the caches (a 2**24-entry table of counts is 64 MiB, and
  costs more to clear and scan than small images take to count).
- ``unique_codes_hash``, for any uint32 codes (RGBA): an open-addressing hash
  table numbers each new colour in order of appearance; the distinct codes
  are then sorted by a radix sort and the numbers turned into ranks. Its
  memory follows the number of pixels and distinct colours, not the 2**32
  possible codes.

``unique_codes`` picks the bitmap when every code is below 2**24, the hash
otherwise.
``tests/test_colors_kernels.py`` holds both equal to ``np.unique``.
"""

import numpy as np
from numba import njit

# RGB codes are below this: the bits of the bitmap.
_RGB_CODES = 1 << 24
# Hash table: 2**bits slots, at first the largest power of two not above the
# number of pixels (within these bounds); doubled whenever more than half the
# slots would be full.
_HASH_MIN_BITS = 12
_HASH_MAX_FIRST_BITS = 22
_EMPTY = -1
# Fibonacci hashing: the top bits of code * 2**64 / golden ratio.
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
# Radix sort: bits per pass.
_RADIX_BITS = 11


@njit(cache=True, nogil=True)
def unique_codes_bitmap(codes, inverse):
    """Distinct RGB codes with a bitmap of all 2**24 colours.

    One bit per possible colour (2 MiB) marks the colours present; the
    number of set bits before each 64-bit word (1 MiB of int32) then gives
    every colour its rank, so the distinct codes come out sorted without a
    sort. Both tables are small enough to stay in the caches.

    codes    IN  (n_pixels,) uint32, every code below 2**24 (not checked:
                 ``unique_codes`` checks)
    inverse  OUT (n_pixels,) int32, index of each pixel's code in ``unique``
    returns  unique (n_colors,) uint32, increasing; counts (n_colors,) int64
    """
    n_pixels = codes.shape[0]
    n_words = _RGB_CODES // 64
    bitmap = np.zeros(n_words, dtype=np.uint64)
    one = np.uint64(1)
    for i in range(n_pixels):
        code = codes[i]
        bitmap[code >> 6] |= one << np.uint64(code & 63)
    # before[w]: the colours present in words 0 .. w - 1.
    before = np.empty(n_words, dtype=np.int32)
    n_colors = 0
    for w in range(n_words):
        before[w] = n_colors
        n_colors += _popcount(bitmap[w])
    unique = np.empty(n_colors, dtype=np.uint32)
    rank = 0
    for w in range(n_words):
        word = bitmap[w]
        while word != 0:
            low = word & (~word + one)  # lowest set bit
            unique[rank] = np.uint32(w * 64 + _popcount(low - one))
            rank += 1
            word ^= low
    counts = np.zeros(n_colors, dtype=np.int64)
    for i in range(n_pixels):
        code = codes[i]
        below = bitmap[code >> 6] & ((one << np.uint64(code & 63)) - one)
        r = before[code >> 6] + _popcount(below)
        inverse[i] = r
        counts[r] += 1
    return unique, counts


@njit(cache=True, nogil=True, inline="always")
def _popcount(x):
    """Number of set bits of the uint64 ``x`` (SWAR; LLVM emits popcnt for it)."""
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return np.int64((x * np.uint64(0x0101010101010101)) >> np.uint64(56))


@njit(cache=True, nogil=True, inline="always")
def _slot(code, shift):
    """Home slot of ``code`` in a table of 2**(64 - shift) slots."""
    return np.int64((np.uint64(code) * _GOLDEN) >> np.uint64(shift))


@njit(cache=True, nogil=True)
def _rehash(first_codes, n_colors, bits):
    """A table of 2**bits slots holding colours 0 .. n_colors - 1.

    Each slot is empty (-1) or holds ``number << 32 | code``.
    """
    n_slots = 1 << bits
    shift = 64 - bits
    mask = n_slots - 1
    table = np.full(n_slots, _EMPTY, dtype=np.int64)
    for number in range(n_colors):
        code = first_codes[number]
        s = _slot(code, shift)
        while table[s] != _EMPTY:
            s = (s + 1) & mask
        table[s] = (number << 32) | np.int64(code)
    return table


@njit(cache=True, nogil=True)
def _number_colors(codes, numbers):
    """Number the distinct codes in order of first appearance.

    codes    IN  (n_pixels,) uint32
    numbers  OUT (n_pixels,) int32, the number of each pixel's code
    returns  first_codes (>= n_colors,) uint32, the code of each number;
             counts (>= n_colors,) int64; n_colors
    """
    n_pixels = codes.shape[0]
    bits = _HASH_MIN_BITS
    while bits < _HASH_MAX_FIRST_BITS and (1 << (bits + 1)) <= n_pixels:
        bits += 1
    n_slots = 1 << bits
    shift = 64 - bits
    mask = n_slots - 1
    table = np.full(n_slots, _EMPTY, dtype=np.int64)
    capacity = min(n_pixels, n_slots // 2)
    first_codes = np.empty(capacity, dtype=np.uint32)
    counts = np.zeros(capacity, dtype=np.int64)
    n_colors = 0
    previous_code = np.uint32(0)
    previous = -1
    for i in range(n_pixels):
        code = codes[i]
        # Neighbouring pixels often share a colour: no lookup then.
        if previous >= 0 and code == previous_code:
            numbers[i] = previous
            counts[previous] += 1
            continue
        s = _slot(code, shift)
        while True:
            entry = table[s]
            if entry == _EMPTY:
                if n_colors == capacity:
                    # Keep at most half the slots full: double the table
                    # (and the per-colour arrays) and find the slot again.
                    capacity = min(n_pixels, 2 * capacity)
                    grown_codes = np.empty(capacity, dtype=np.uint32)
                    grown_codes[:n_colors] = first_codes[:n_colors]
                    first_codes = grown_codes
                    grown_counts = np.zeros(capacity, dtype=np.int64)
                    grown_counts[:n_colors] = counts[:n_colors]
                    counts = grown_counts
                    bits += 1
                    n_slots = 1 << bits
                    shift = 64 - bits
                    mask = n_slots - 1
                    table = _rehash(first_codes, n_colors, bits)
                    s = _slot(code, shift)
                    continue
                number = n_colors
                n_colors += 1
                table[s] = (np.int64(number) << 32) | np.int64(code)
                first_codes[number] = code
                break
            if np.uint32(entry & 0xFFFFFFFF) == code:
                number = entry >> 32
                break
            s = (s + 1) & mask
        numbers[i] = number
        counts[number] += 1
        previous_code = code
        previous = number
    return first_codes, counts, n_colors


@njit(cache=True, nogil=True)
def radix_argsort(keys):
    """Order that sorts uint32 ``keys`` (stable): an LSD radix sort.

    Passes of ``_RADIX_BITS`` bits, from the lowest; a pass whose digit is the
    same for every key is skipped.

    keys     IN  (n,) uint32
    returns  (n,) int64 indices, keys[order] is sorted
    """
    n = keys.shape[0]
    n_buckets = 1 << _RADIX_BITS
    order = np.arange(n)
    if n < 2:
        return order
    other = np.empty(n, dtype=np.int64)
    histogram = np.empty(n_buckets + 1, dtype=np.int64)
    high = np.int64(keys.max())
    shift = 0
    while shift < 32 and (high >> shift) > 0:
        histogram[:] = 0
        for k in range(n):
            histogram[((np.int64(keys[k]) >> shift) & (n_buckets - 1)) + 1] += 1
        if histogram.max() < n:  # else one bucket holds every key: no change
            for b in range(1, n_buckets + 1):
                histogram[b] += histogram[b - 1]
            for k in range(n):
                index = order[k]
                digit = (np.int64(keys[index]) >> shift) & (n_buckets - 1)
                other[histogram[digit]] = index
                histogram[digit] += 1
            order, other = other, order
        shift += _RADIX_BITS
    return order


@njit(cache=True, nogil=True)
def unique_codes_hash(codes, inverse):
    """Distinct codes with a hash table, then a sort of the distinct codes.

    codes    IN  (n_pixels,) uint32, any values
    inverse  OUT (n_pixels,) int32, index of each pixel's code in ``unique``
    returns  unique (n_colors,) uint32, increasing; counts (n_colors,) int64
    """
    first_codes, counts_by_number, n_colors = _number_colors(codes, inverse)
    order = radix_argsort(first_codes[:n_colors])
    unique = np.empty(n_colors, dtype=np.uint32)
    counts = np.empty(n_colors, dtype=np.int64)
    rank = np.empty(n_colors, dtype=np.int32)
    for r in range(n_colors):
        number = order[r]
        unique[r] = first_codes[number]
        counts[r] = counts_by_number[number]
        rank[number] = r
    for i in range(codes.shape[0]):
        inverse[i] = rank[inverse[i]]
    return unique, counts


def unique_codes(codes, inverse):
    """Distinct codes, their counts and each pixel's index, like ``np.unique``.

    The bitmap when every code is below 2**24 (RGB), the hash otherwise. A
    Python function, so that a run compiles only the kernel it uses (the
    first run after install compiles each).

    codes    IN  (n_pixels,) uint32 packed colours
    inverse  OUT (n_pixels,) int32, index of each pixel's code in ``unique``
                 (``unique[inverse]`` is ``codes``)
    returns  unique (n_colors,) uint32, increasing; counts (n_colors,) int64
    """
    if codes.size == 0 or int(codes.max()) < _RGB_CODES:
        return unique_codes_bitmap(codes, inverse)
    return unique_codes_hash(codes, inverse)
