"""Polygon geometry: areas, orientation, validity and the Vatti offsets."""

from __future__ import annotations

import numpy as np
import pytest
from shapely.geometry import Polygon as ShapelyPolygon

from ocrtop.ocr.geometry import (
    PolygonProblem,
    apply_matrix,
    offset_polygon,
    perimeter,
    polygon_area,
    polygon_problem,
    shrink_distance,
    shrink_polygon,
    signed_area,
    unclip_distance,
    unclip_polygon,
)

RECT = np.array([[10.0, 20.0], [110.0, 20.0], [110.0, 50.0], [10.0, 50.0]])  # clockwise on screen


def test_area_perimeter_and_orientation() -> None:
    assert polygon_area(RECT) == pytest.approx(3000.0)
    assert perimeter(RECT) == pytest.approx(260.0)
    assert signed_area(RECT) > 0  # clockwise on screen (y down)
    assert signed_area(RECT[::-1]) < 0
    assert polygon_area(RECT[::-1]) == pytest.approx(3000.0)


@pytest.mark.parametrize(
    ("points", "problem"),
    [
        ([[0, 0], [5, 5]], PolygonProblem.TOO_FEW_POINTS),
        ([[0, 0], [5, 5], [10, 10], [3, 3]], PolygonProblem.ZERO_AREA),
        ([[0, 0], [10, 0], [0, 10], [10, 10]], PolygonProblem.SELF_INTERSECTING),
        ([[0, 0], [np.nan, 0], [0, 10]], PolygonProblem.NON_FINITE),
        ([[0, 0], [10, 0], [10, 10], [0, 10]], None),
    ],
)
def test_polygon_problem(points: list[list[float]], problem: PolygonProblem | None) -> None:
    assert polygon_problem(np.asarray(points, dtype=float)) == problem


@pytest.mark.parametrize("reverse", [False, True])
def test_shrink_matches_vatti_distance_for_both_orientations(reverse: bool) -> None:
    rect = RECT[::-1] if reverse else RECT
    d = shrink_distance(rect, 0.4)
    assert d == pytest.approx(3000 * (1 - 0.16) / 260)
    shrunk = shrink_polygon(rect, 0.4)
    assert shrunk is not None
    # Inward offset of an axis-aligned rectangle is a rectangle with mitred (sharp) corners.
    assert polygon_area(shrunk) == pytest.approx((100 - 2 * d) * (30 - 2 * d), rel=1e-3)
    assert shrunk[:, 0].min() == pytest.approx(10 + d, abs=1e-2)


def test_offset_keeps_subpixel_precision() -> None:
    """pyclipper truncates floats; scaled integers keep a 0.3 px offset exact."""
    tiny = np.array([[0.0, 0.0], [4.0, 0.0], [4.0, 2.0], [0.0, 2.0]])
    (out,) = offset_polygon(tiny, -0.3)
    assert polygon_area(out) == pytest.approx(3.4 * 1.4, rel=1e-3)


def test_offset_round_trip_is_exact_up_to_round_corners() -> None:
    d = shrink_distance(RECT, 0.4)
    (inner,) = offset_polygon(RECT, -d)
    (outer,) = offset_polygon(inner, d)
    # Growing back with round joins loses the four corner squares minus a disc (80 px^2
    # here); arcs are polygons within 0.25 px of the circle, hence the 1 % tolerance.
    assert polygon_area(outer) == pytest.approx(3000 - (4 - np.pi) * d**2, rel=1e-2)


def test_shrink_then_unclip_recovers_the_word() -> None:
    shrunk = shrink_polygon(RECT, 0.4)
    assert shrunk is not None
    restored = unclip_polygon(shrunk, 1.5)
    assert restored is not None
    assert unclip_distance(shrunk, 1.5) == pytest.approx(
        polygon_area(shrunk) * 1.5 / perimeter(shrunk)
    )
    original, back = ShapelyPolygon(RECT), ShapelyPolygon(restored)
    # DBNet's 1.5 is the conventional approximate inverse of r = 0.4: well above the
    # 0.5 IoU of the ICDAR metric, never larger than the word.
    iou = original.intersection(back).area / original.union(back).area
    assert 0.7 < iou <= 1.0
    assert back.buffer(-0.01).within(original.buffer(0.5))
    assert ShapelyPolygon(shrunk).within(back)


def test_offsets_of_a_sliver_vanish_or_nearly() -> None:
    sliver = np.array([[0.0, 0.0], [100.0, 0.0], [100.0, 0.5], [0.0, 0.5]])
    assert offset_polygon(sliver, -0.3) == []  # deeper than half the height: nothing left
    # D = A (1 - r^2) / L stays below half the height: a shrink leaves a hair (the DB
    # target builder drops such words through min_text_size).
    shrunk = shrink_polygon(sliver, 0.4)
    assert shrunk is not None
    assert polygon_area(shrunk) < 0.2 * polygon_area(sliver)


def test_dilate_by_the_shrink_distance_contains_polygon() -> None:
    d = shrink_distance(RECT, 0.4)
    (grown,) = offset_polygon(RECT, d)  # the outer edge of DBNet's threshold band
    np.testing.assert_allclose(grown.min(axis=0), RECT.min(axis=0) - d, atol=0.05)


def test_apply_matrix_affine_and_projective() -> None:
    shift = np.array([[1.0, 0, 5], [0, 2.0, -1], [0, 0, 1]])
    np.testing.assert_allclose(apply_matrix(shift, RECT[:1]), [[15.0, 39.0]])
    proj = np.array([[2.0, 0, 0], [0, 2.0, 0], [0, 0, 2.0]])
    np.testing.assert_allclose(apply_matrix(proj, RECT), RECT)
