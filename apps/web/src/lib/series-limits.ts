// Limits shared by the dashboard's /api/series route and the charts' batcher.

/** Keys one /api/series request may carry (the URL stays far below Node's 16 KiB header limit). */
export const MAX_BATCH_KEYS = 50;
