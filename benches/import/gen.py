#!/usr/bin/env python3
"""Writes N generated users for `myauth import` benchmarks (benches/import/run.sh):

    gen.py N OUT_DIR   ->  OUT_DIR/seed.jsonl (MyAuth's user shape) and
                           OUT_DIR/fastapi-users.csv (fastapi-users' `user` table)

Each row carries one of the reference hashes of crates/auth-core/testdata/legacy_hashes.json
in turn (bcrypt, passlib, Django, scrypt, argon2 forms), so every hash family is validated on
import; row i has the email user{i}@example.com and the password of its vector.
"""
import csv
import json
import pathlib
import sys
import uuid

root = pathlib.Path(__file__).resolve().parents[2]
vectors = json.loads((root / "crates/auth-core/testdata/legacy_hashes.json").read_text())["vectors"]
usable = vectors

count, out = int(sys.argv[1]), pathlib.Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
with open(out / "seed.jsonl", "w") as seed, open(out / "fastapi-users.csv", "w", newline="") as fu:
    writer = csv.writer(fu)
    writer.writerow(["id", "email", "hashed_password", "is_active", "is_superuser", "is_verified"])
    for i in range(count):
        vector = usable[i % len(usable)]
        seed.write(json.dumps({
            "id": str(uuid.UUID(int=i + 1)),
            "email": f"user{i}@example.com",
            "username": f"user{i}",
            "hashed_password": vector["hash"],
            "roles": ["user"] + (["admin"] if i % 1000 == 0 else []),
            "user_settings": {"theme": "dark", "n": i},
            "is_verified": i % 10 != 0,
            "is_active": True,
            "created_at": "2024-05-01T12:00:00Z",
            "updated_at": "2024-05-02 08:30:00.123456",
        }) + "\n")
        writer.writerow([str(uuid.UUID(int=i + 1)), f"user{i}@example.com", vector["hash"],
                         "t", "t" if i % 1000 == 0 else "f", "f" if i % 10 == 0 else "t"])
print(f"{count} users ({len(usable)} hash vectors) in {out}")
