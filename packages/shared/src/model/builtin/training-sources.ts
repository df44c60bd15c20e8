/**
 * Every source of images a shipped model was trained on: the one list benchmarks check against,
 * so that no quality figure is reported on an image that trained a shipped head. The shipped
 * copy-detection heads trained on augmented copies of images from these Debian packages
 * (bench/datasets/copy-training-images.ts assembles them); the backbone is nsfwjs' MobileNetV2,
 * trained by its authors on their own data.
 */
export const TRAINING_SOURCE_PACKAGES: readonly string[] = [
  'gnome-backgrounds',
  'plasma-workspace-wallpapers',
  'mate-backgrounds',
  'lomiri-wallpapers',
  'lomiri-wallpapers-16.04',
  'lomiri-wallpapers-20.04',
  'sway-backgrounds',
  'ukui-wallpapers',
  'tuxpaint-data',
  'tuxpaint-stamps-default',
  'palapeli-data',
];
