# The 1€ filter (Casiez, Roussel, Vogel, CHI 2012) as its authors publish it, written again
# independently of src/core/one-euro.ts so the test compares two implementations.
#
# Source followed: github.com/casiez/OneEuroFilter (https://gery.casiez.net/1euro/), commit
# b992684 (2026-02), python/OneEuroFilter/OneEuroFilter.py, with the same structure: a
# LowPassFilter that passes its first value through, and a OneEuroFilter whose call
#   1. sets freq = 1 / (timestamp - lasttime) only when timestamp > lasttime (a repeated or
#      earlier timestamp keeps the previous freq; lasttime takes the new timestamp anyway),
#   2. dx = 0 on the first sample, else (x - x_filter.lastFilteredValue()) * freq,
#   3. edx = dx_filter(dx, alpha(dcutoff)),
#   4. cutoff = mincutoff + beta * |edx|,
#   5. returns x_filter(x, alpha(cutoff)), with alpha(c) = 1 / (1 + tau / te),
#      te = 1 / freq, tau = 1 / (2 pi c).
# One departure: the published Python tests `if self.__lasttime and timestamp`, which takes a
# timestamp of 0 s for a missing one; the C++, Java and TypeScript versions of the same commit
# compare against an undefined time, and so does this file (`is not None`).
#
# Input (a path argument, else stdin): JSON [{"t": [ms...], "x": [...], "minCutoff",
# "beta", "dCutoff", "frequency"}, ...]. Output: one JSON line, the filtered values per
# sequence. Timestamps arrive in milliseconds and become seconds as t / 1000.0.
import json
import math
import sys


class LowPassFilter(object):
    def __init__(self, alpha):
        self.__set_alpha(alpha)
        self.__y = self.__s = None

    def __set_alpha(self, alpha):
        alpha = float(alpha)
        if alpha <= 0 or alpha > 1.0:
            raise ValueError('alpha (%s) should be in (0.0, 1.0]' % alpha)
        self.__alpha = alpha

    def __call__(self, value, alpha=None):
        if alpha is not None:
            self.__set_alpha(alpha)
        if self.__y is None:
            s = value
        else:
            s = self.__alpha * value + (1.0 - self.__alpha) * self.__s
        self.__y = value
        self.__s = s
        return s

    def last_filtered_value(self):
        return self.__s


class OneEuroFilter(object):
    def __init__(self, freq, mincutoff=1.0, beta=0.0, dcutoff=1.0):
        if freq <= 0:
            raise ValueError('freq should be >0')
        if mincutoff <= 0:
            raise ValueError('mincutoff should be >0')
        if dcutoff <= 0:
            raise ValueError('dcutoff should be >0')
        self.__freq = float(freq)
        self.__mincutoff = float(mincutoff)
        self.__beta = float(beta)
        self.__dcutoff = float(dcutoff)
        self.__x = LowPassFilter(self.__alpha(self.__mincutoff))
        self.__dx = LowPassFilter(self.__alpha(self.__dcutoff))
        self.__lasttime = None

    def __alpha(self, cutoff):
        te = 1.0 / self.__freq
        tau = 1.0 / (2 * math.pi * cutoff)
        return 1.0 / (1.0 + tau / te)

    def __call__(self, x, timestamp=None):
        # ---- update the sampling frequency based on timestamps
        if self.__lasttime is not None and timestamp is not None and timestamp > self.__lasttime:
            self.__freq = 1.0 / (timestamp - self.__lasttime)
        self.__lasttime = timestamp
        # ---- estimate the current variation per second
        prev_x = self.__x.last_filtered_value()
        dx = 0.0 if prev_x is None else (x - prev_x) * self.__freq
        edx = self.__dx(dx, alpha=self.__alpha(self.__dcutoff))
        # ---- use it to update the cutoff frequency
        cutoff = self.__mincutoff + self.__beta * math.fabs(edx)
        # ---- filter the given value
        return self.__x(x, alpha=self.__alpha(cutoff))


def run(seq):
    f = OneEuroFilter(seq['frequency'], seq['minCutoff'], seq['beta'], seq['dCutoff'])
    return [f(x, t / 1000.0) for t, x in zip(seq['t'], seq['x'])]


def main():
    src = open(sys.argv[1]) if len(sys.argv) > 1 else sys.stdin
    with src:
        sequences = json.load(src)
    print(json.dumps([run(s) for s in sequences]))


if __name__ == '__main__':
    main()
