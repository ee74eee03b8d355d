"""Drawing results onto frames: hand skeletons, face meshes, their labels, rotated boxes and the overlay."""

from livepose.render.draw import (FACE_MESH_EDGES, BoxStyle, FaceStyle, HandStyle, Label, LabelStyle,
                                  OverlayStyle, draw_faces, draw_hands, draw_hands_and_faces, draw_labels,
                                  draw_overlay, draw_rois, face_labels, hand_labels, layout_labels,
                                  overlay_lines, overlay_rect, parse_color, roi_corners)
from livepose.render.labels import Rect, label_text, place_labels
from livepose.render.topology import (FACE_CONTOURS, FACE_OVAL, HAND_CHAINS, HAND_CONNECTIONS,
                                      unique_edges)

__all__ = [
    "FACE_CONTOURS", "FACE_MESH_EDGES", "FACE_OVAL", "HAND_CHAINS", "HAND_CONNECTIONS", "BoxStyle",
    "FaceStyle", "HandStyle", "Label", "LabelStyle", "OverlayStyle", "Rect", "draw_faces", "draw_hands",
    "draw_hands_and_faces", "draw_labels", "draw_overlay", "draw_rois", "face_labels", "hand_labels",
    "label_text", "layout_labels", "overlay_lines", "overlay_rect", "parse_color", "place_labels", "roi_corners",
    "unique_edges",
]
