// For launcher tests: rank FAIL_RANK prints a line and exits with FAIL_CODE; the others wait forever.
const rank = Number(process.env.RANK);
console.log(
  `hello from ${rank} of ${process.env.WORLD_SIZE} local ${process.env.LOCAL_RANK}/${process.env.LOCAL_WORLD_SIZE}`,
);
if (process.env.FAIL_RANK !== undefined && rank === Number(process.env.FAIL_RANK)) {
  setTimeout(() => process.exit(Number(process.env.FAIL_CODE ?? 3)), 200);
} else if (process.env.FAIL_RANK !== undefined) {
  setInterval(() => {}, 1000);
  process.on('SIGTERM', () => {
    console.log('got SIGTERM');
    process.exit(143);
  });
}
