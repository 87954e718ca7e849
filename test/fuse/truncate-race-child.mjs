// One side of the read/truncate race: `write FILE N` rewrites and shrinks FILE N times,
// `read FILE N` reads it in 64 KiB pieces N times. Prints the errno codes it met, as JSON.
import fs from 'node:fs';

const [, , role, file, times] = process.argv;
const data = Buffer.alloc(320 * 1024);
const errors = {};
for (let i = 0; i < Number(times); i++) {
  try {
    if (role === 'write') {
      data.fill(i & 0xff, 0, 1024); // new chunk contents each round, so reads miss the cache
      const fd = fs.openSync(file, 'r+');
      fs.writeSync(fd, data, 0, 100_000 + ((i * 7919) % 200_000), 0);
      fs.ftruncateSync(fd, (i * 104_729) % 250_000);
      fs.closeSync(fd);
    } else {
      const fd = fs.openSync(file, 'r');
      const out = Buffer.alloc(65536);
      for (let p = 0; p < data.length; p += out.length) fs.readSync(fd, out, 0, out.length, p);
      fs.closeSync(fd);
    }
  } catch (err) {
    errors[err.code] = (errors[err.code] ?? 0) + 1;
  }
}
process.stdout.write(`${JSON.stringify(errors)}\n`);
