from django.core.management.base import BaseCommand, CommandError
from django.db import connections, router

from minqing.core.pii import encrypted_fields, rotate_model


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted personal-information value with the first key of MINQING_PII_KEYS. "
        "Put the new key first, keep the old ones after it, run this, and only then remove the old keys. "
        "Safe to run again: values already under the first key are left alone. A new key: "
        'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500, help="rows per transaction (default 500)")
        parser.add_argument(
            "--check",
            action="store_true",
            help="change nothing; fail if any value is not yet under the first key (run before removing a key)",
        )

    def handle(self, *args, batch_size: int, check: bool, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        totals = {"rotated": 0, "current": 0, "empty": 0, "undecryptable": 0}
        for model, fields in encrypted_fields():
            alias = router.db_for_write(model)
            if model._meta.db_table not in connections[alias].introspection.table_names():
                self.stdout.write(f"{model._meta.label}: no table (not migrated), skipped")
                continue
            counts = rotate_model(model, fields, batch_size=batch_size, dry_run=check)
            for name, count in counts.items():
                self.stdout.write(
                    f"{model._meta.label}.{name}: "
                    f"{'to rotate' if check else 'rotated'} {count.rotated}, "
                    f"already current {count.current}, empty {count.empty}, "
                    f"undecryptable {count.undecryptable}"
                    + (f" (pk {', '.join(map(str, count.undecryptable_pks[:20]))})" if count.undecryptable else "")
                )
                for key in totals:
                    totals[key] += getattr(count, key)
        verb = "to rotate" if check else "rotated"
        self.stdout.write(
            f"Total: {verb} {totals['rotated']}, already current {totals['current']}, "
            f"empty {totals['empty']}, undecryptable {totals['undecryptable']}"
        )
        if totals["undecryptable"]:
            raise CommandError(
                f"{totals['undecryptable']} values cannot be decrypted with any key in MINQING_PII_KEYS: "
                "do not remove any key; find the key that encrypted them and add it to the list"
            )
        if check and totals["rotated"]:
            raise CommandError(f"{totals['rotated']} values are not yet under the first key: run pii_rotate_keys")
        if not check:
            self.stdout.write(self.style.SUCCESS("Every encrypted value is under the first key."))
