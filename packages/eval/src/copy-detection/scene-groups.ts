/**
 * Photos of the data set that show the same scene or object: stereo pairs, sequences of one
 * calibration board, an image and its edited or recoloured version. A crop of a region they share
 * (a chessboard's squares, the book both stereo views show) can have no single right answer, so
 * besides strict recall@1 the benchmark reports "same-scene" recall@1, where a top hit from the
 * source's group counts. Groups are by file name, checked by eye; a photo in no group is its own.
 */
const GROUPS: { name: string; match: RegExp }[] = [
  { name: 'calibration-board', match: /^cv-(left|right)\d\d\.jpg$/ }, // 26 shots of one chessboard, two cameras
  { name: 'stereo-books', match: /^cv-(left|right)\.jpg$/ },
  { name: 'chessboard-pattern', match: /^sk-chessboard_(GRAY|RGB)\.png$/ },
  { name: 'aloe', match: /^cv-aloe[LR]\.jpg$/ },
  { name: 'basketball', match: /^cv-basketball[12]\.png$/ },
  { name: 'rubberwhale', match: /^cv-rubberwhale[12]\.png$/ },
  { name: 'motorcycle', match: /^sk-motorcycle_(left|right)\.png$/ },
  { name: 'suzanne', match: /^cv-Blender_Suzanne[12]\.jpg$/ },
  { name: 'graffiti', match: /^cv-graf[13]\.png$/ },
  { name: 'aerial', match: /^cv-aero[13]\.jpg$/ },
  { name: 'leuven', match: /^cv-leuven[AB]\.jpg$/ },
  { name: 'ela', match: /^cv-ela_(original|modified)\.jpg$/ },
  { name: 'opencv-logo', match: /^cv-opencv-logo(-white)?\.png$/ },
  { name: 'palette', match: /^sk-palette_(color|gray)\.png$/ },
  { name: 'box', match: /^cv-box(_in_scene)?\.png$/ },
  { name: 'text-page', match: /^cv-imageText[NR]\.png$/ },
];

/** The scene group of a photo (its own name when it is in none). */
export function sceneOf(name: string): string {
  return GROUPS.find((g) => g.match.test(name))?.name ?? name;
}
