"""Speech graphs (Mota et al. 2012): the word sequence as a directed graph.

Each distinct word is a node; each pair of consecutive words adds a directed edge from the
first to the second. Measures are computed in windows of a fixed number of words moved one
word at a time (Mota et al. 2014 used 30 words), so that they do not grow with the length of
the speech sample, and averaged over the windows.

Measures of one window (binary adjacency ``A`` of distinct directed edges):

- ``nodes`` N: distinct words; ``edges`` E: distinct directed word pairs (``A.sum()``);
- ``lcc``: nodes of the largest weakly connected component (all N in a window of
  consecutive words; kept for comparison with published tables); ``lsc``: nodes of the
  largest strongly connected component (words that can be reached again from each other);
- ``loops1`` L1: self-loops (a word repeated at once, ``I I``); ``loops2`` L2: pairs of words
  with edges both ways (``... home I ... I home``); ``loops3`` L3: directed cycles through
  three distinct words.

References
----------
- Mota, N. B., Vasconcelos, N. A. P., Lemos, N., et al. (2012). Speech graphs provide a
  quantitative measure of thought disorder in psychosis. PLoS ONE, 7(4), e34928.
- Mota, N. B., Furtado, R., Maia, P. P. C., Copelli, M., & Ribeiro, S. (2014). Graph analysis
  of dream reports is especially informative about psychosis. Scientific Reports, 4, 3691.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict

import numpy as np

__all__ = ["GRAPH_MEASURES", "graph_measures", "speech_graph_features"]

GRAPH_MEASURES = ("nodes", "edges", "lcc", "lsc", "loops1", "loops2", "loops3")


def _largest_strong(ids: list[int]) -> int:
    """Nodes of the largest strongly connected component of a walk's graph.

    In the graph of a walk ``w0 w1 ... wk``, word ``a`` reaches ``b`` exactly when an
    occurrence of ``a`` precedes one of ``b`` (follow the walk), so ``a`` and ``b`` reach each
    other when their spans [first, last occurrence] overlap; components are chains of
    overlapping spans, found in one sweep (no graph search).
    """
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    for position, node in enumerate(ids):
        first.setdefault(node, position)
        last[node] = position
    largest, size, end = 0, 0, -1
    for node in sorted(first, key=first.__getitem__):
        if first[node] < end:  # an earlier word recurs after this one: same component
            size += 1
            end = max(end, last[node])
        else:
            largest, size, end = max(largest, size), 1, last[node]
    return max(largest, size)


def graph_measures(words: list[str]) -> dict[str, float]:
    """The speech-graph measures of one word sequence (see the module notes).

    >>> graph_measures("the cat saw the dog".split())["lsc"]
    3.0
    """
    index: dict[str, int] = {}
    ids = [index.setdefault(w, len(index)) for w in words]
    n = len(index)
    edges = set(zip(ids, ids[1:], strict=False))
    successors: list[list[int]] = [[] for _ in range(n)]
    for a, b in edges:
        successors[a].append(b)
    loops1 = sum(1 for a, b in edges if a == b)
    loops2 = sum(1 for a, b in edges if a < b and (b, a) in edges)
    # a directed 3-cycle a -> b -> c -> a over distinct words, counted once (from its least word)
    loops3 = 0
    for a, b in edges:
        if a == b:
            continue
        for c in successors[b]:
            if c not in (a, b) and (c, a) in edges and a < b and a < c:
                loops3 += 1
    return {
        "nodes": float(n),
        "edges": float(len(edges)),
        # consecutive words are linked: a window's words are one weakly connected component
        "lcc": float(n),
        "lsc": float(_largest_strong(ids)),
        "loops1": float(loops1),
        "loops2": float(loops2),
        "loops3": float(loops3),
    }


class _SlidingGraph:
    """Distinct edges, self-loops, 2-cycles and 3-cycles of a walk's graph, kept up to date as
    edges enter and leave a sliding window (each cycle is counted when its last edge enters
    and uncounted when its first edge leaves), so that a window costs O(1) updates instead of
    a rebuilt graph."""

    def __init__(self):
        self.count: Counter = Counter()
        self.succ: dict[int, set[int]] = defaultdict(set)
        self.pred: dict[int, set[int]] = defaultdict(set)
        self.loops = [0, 0, 0]

    def _closing(self, a: int, b: int) -> int:
        """3-cycles a -> b -> c -> a through a third word c."""
        return len((self.succ[b] & self.pred[a]) - {a, b})

    def add(self, a: int, b: int) -> None:
        self.count[(a, b)] += 1
        if self.count[(a, b)] > 1:
            return
        if a == b:
            self.loops[0] += 1
            return
        self.loops[1] += b in self.pred[a] and a in self.succ[b]
        self.loops[2] += self._closing(a, b)
        self.succ[a].add(b)
        self.pred[b].add(a)

    def remove(self, a: int, b: int) -> None:
        self.count[(a, b)] -= 1
        if self.count[(a, b)]:
            return
        del self.count[(a, b)]
        if a == b:
            self.loops[0] -= 1
            return
        self.succ[a].discard(b)
        self.pred[b].discard(a)
        self.loops[1] -= b in self.pred[a] and a in self.succ[b]
        self.loops[2] -= self._closing(a, b)


def speech_graph_features(words: list[str], window: int) -> dict[str, float]:
    """Speech-graph measures averaged over every window of ``window`` consecutive words
    (moved one word at a time), named ``graph_<measure>``; NaN with fewer words.

    Same values as :func:`graph_measures` on each window, updated incrementally.
    """
    if len(words) < window:
        return {f"graph_{m}": math.nan for m in GRAPH_MEASURES}
    index: dict[str, int] = {}
    ids = [index.setdefault(w, len(index)) for w in words]
    nodes: Counter = Counter(ids[:window])
    graph = _SlidingGraph()
    for a, b in zip(ids[: window - 1], ids[1:window], strict=True):
        graph.add(a, b)
    totals = np.zeros(len(GRAPH_MEASURES))
    n_windows = len(ids) - window + 1
    for k in range(n_windows):
        if k:
            gone, new = ids[k - 1], ids[k + window - 1]
            graph.remove(gone, ids[k])
            graph.add(ids[k + window - 2], new)
            nodes[gone] -= 1
            if not nodes[gone]:
                del nodes[gone]
            nodes[new] += 1
        n = len(nodes)
        # consecutive words are linked: a window's words are one weakly connected component
        totals += (
            n,
            len(graph.count),
            n,
            _largest_strong(ids[k : k + window]),
            *graph.loops,
        )
    return {f"graph_{m}": float(t / n_windows) for m, t in zip(GRAPH_MEASURES, totals, strict=True)}
