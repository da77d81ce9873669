"""Numba kernels that count the distinct colours of an image.

A colour is a packed code, ``R << 16 | G << 8 | B`` (RGB) or ``R << 24 |
G << 16 | B << 8 | A`` (RGBA). Both ways give what ``np.unique(codes,
return_inverse=True, return_counts=True)`` gives: the distinct colours in
increasing order of their code, the number of pixels of each, and the index
of every pixel's colour among them. The kernels are serial and ``nogil``:

- ``unique_rgb``, for RGB pixels, read as they are (no array of codes): one
  bit per possible colour (2 MiB) marks the colours present, the count of
  set bits before each 64-bit word (1 MiB) ranks them, and a second pass
  over the pixels reads every pixel's rank and counts it. Linear time, no
  sort, and the two tables stay in the caches (a 2**24-entry table of counts
  is 64 MiB, and costs more to clear and scan than small images take to
  count).
- ``unique_codes_hash``, for any uint32 codes (RGBA, packed by
  ``_palette.pack_colors``): an open-addressing hash table numbers each new
  colour in order of appearance; the distinct codes are then sorted by a
  radix sort and the numbers turned into ranks. Its memory follows the
  number of pixels and distinct colours, not the 2**32 possible codes.

``tests/test_colors_kernels.py`` holds both equal to ``np.unique``
(``reference/colors.py``).
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


@njit(cache=True, nogil=True, inline="always")
def _rgb_code(pixels, i):
    """The packed code ``R << 16 | G << 8 | B`` of pixel ``i`` (uint32)."""
    return ((np.uint32(pixels[i, 0]) << np.uint32(16))
            | (np.uint32(pixels[i, 1]) << np.uint32(8)) | np.uint32(pixels[i, 2]))


@njit(cache=True, nogil=True)
def mark_rgb(pixels, bitmap):
    """Step 1 of the bitmap count: set the bit of every pixel's colour.

    pixels  IN    (n_pixels, 3) uint8, C-contiguous
    bitmap  INOUT (2**18,) uint64: bit ``code & 63`` of word ``code >> 6``
    """
    one = np.uint64(1)
    # Unsigned indices: no wraparound test for negative ones (1.4x faster).
    for i in range(np.uint64(pixels.shape[0])):
        code = _rgb_code(pixels, i)
        bitmap[code >> np.uint32(6)] |= one << np.uint64(code & np.uint32(63))


@njit(cache=True, nogil=True)
def rank_bitmap(bitmap):
    """Step 2: rank the colours present, in increasing order of their code.

    bitmap   IN  (2**18,) uint64, from ``mark_rgb``
    returns  before (2**18,) int32, the colours present in the words before
             each word; colors (n_colors, 3) uint8, the colours present,
             increasing
    """
    n_words = bitmap.shape[0]
    one = np.uint64(1)
    before = np.empty(n_words, dtype=np.int32)
    n_colors = 0
    for w in range(n_words):
        before[w] = n_colors
        n_colors += _popcount(bitmap[w])
    colors = np.empty((n_colors, 3), dtype=np.uint8)
    rank = 0
    for w in range(n_words):
        word = bitmap[w]
        while word != 0:
            low = word & (~word + one)  # lowest set bit
            code = w * 64 + _popcount(low - one)
            colors[rank, 0] = np.uint8(code >> 16)
            colors[rank, 1] = np.uint8((code >> 8) & 0xFF)
            colors[rank, 2] = np.uint8(code & 0xFF)
            rank += 1
            word ^= low
    return before, colors


@njit(cache=True, nogil=True)
def count_rgb(pixels, bitmap, before, inverse, counts):
    """Step 3: the rank of every pixel's colour, and the pixels of each.

    A colour's rank is the colours present before its word plus the set bits
    below its own in the word.

    pixels   IN    (n_pixels, 3) uint8
    bitmap, before  IN  from ``mark_rgb`` (every pixel's colour marked) and
                   ``rank_bitmap``
    inverse  OUT   (n_pixels,) int32, the rank of each pixel's colour
    counts   INOUT (n_colors,) int64, zero on entry: the pixels of each
    """
    one = np.uint64(1)
    for i in range(np.uint64(pixels.shape[0])):  # unsigned, as in mark_rgb
        code = _rgb_code(pixels, i)
        word = code >> np.uint32(6)
        below = bitmap[word] & ((one << np.uint64(code & np.uint32(63))) - one)
        r = np.uint64(before[word]) + np.uint64(_popcount(below))
        inverse[i] = r
        counts[r] += 1


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


@njit(cache=True, nogil=True)
def unique_rgb(pixels, inverse):
    """Distinct colours of RGB pixels, their counts and each pixel's index.

    What ``np.unique`` gives for the pixels' packed codes, by the bitmap
    (``mark_rgb``, ``rank_bitmap``, ``count_rgb``), reading the pixels
    themselves: no array of codes is made. On one thread: the count pass
    waits on memory, and two threads, each with its own bitmap and counts,
    took as long (12 MP: 70 ms either way). Compiled itself, so that a
    process loads one kernel from numba's cache instead of three (each load
    costs about 3 ms).

    pixels     IN  (n_pixels, 3) uint8, C-contiguous
    inverse    OUT (n_pixels,) int32, index of each pixel's colour in ``colors``
    returns    colors (n_colors, 3) uint8, increasing as packed codes;
               counts (n_colors,) int64
    """
    bitmap = np.zeros(_RGB_CODES // 64, dtype=np.uint64)
    mark_rgb(pixels, bitmap)
    before, colors = rank_bitmap(bitmap)
    counts = np.zeros(colors.shape[0], dtype=np.int64)
    count_rgb(pixels, bitmap, before, inverse, counts)
    return colors, counts
