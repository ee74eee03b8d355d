"""Drawing results onto frames: hand skeletons, face meshes, rotated boxes and the overlay."""

from livepose.render.draw import (FACE_MESH_EDGES, BoxStyle, FaceStyle, HandStyle, OverlayStyle,
                                  draw_faces, draw_hands, draw_overlay, draw_rois, overlay_lines,
                                  parse_color, roi_corners)
from livepose.render.topology import (FACE_CONTOURS, FACE_OVAL, HAND_CHAINS, HAND_CONNECTIONS,
                                      unique_edges)

__all__ = [
    "FACE_CONTOURS", "FACE_MESH_EDGES", "FACE_OVAL", "HAND_CHAINS", "HAND_CONNECTIONS", "BoxStyle",
    "FaceStyle", "HandStyle", "OverlayStyle", "draw_faces", "draw_hands", "draw_overlay", "draw_rois",
    "overlay_lines", "parse_color", "roi_corners", "unique_edges",
]
