import type { ShopView } from '../../core/node/nodeView';

export const BACKUP_REMINDER_DAYS = 30;
const DAY_MS = 24 * 60 * 60 * 1000;

/** Whether the shop is due a backup: never backed up from this device, or not for 30 days. */
export function backupDue(shop: ShopView, now = Date.now()): boolean {
  return shop.rootDevice && (shop.lastBackupAt === null || now - shop.lastBackupAt > BACKUP_REMINDER_DAYS * DAY_MS);
}

/**
 * The reminder under the header on the shop's first device while a backup is due: the shop lives
 * only in this browser's storage until it is backed up or added to another device.
 */
export function BackupReminder({ shop, onBackUp, onLater }: { shop: ShopView; onBackUp(): void; onLater(): void }) {
  if (!backupDue(shop)) return null;
  const days = shop.lastBackupAt === null ? null : Math.floor((Date.now() - shop.lastBackupAt) / DAY_MS);
  return (
    <section className="banner" aria-label="Backup reminder">
      <p style={{ margin: 0, flex: '1 1 20rem' }}>
        {days === null ? 'This shop is not backed up.' : `This shop was last backed up ${days} days ago.`} It lives in this
        browser: if the browser’s data is cleared, the device is lost, or this is a private window that gets closed, the
        shop is gone. Back it up to a file, or add another device.
      </p>
      <button type="button" onClick={onBackUp}>
        Back up now
      </button>
      <button type="button" onClick={onLater}>
        Later
      </button>
    </section>
  );
}
