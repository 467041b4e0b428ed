export default function P() {
  return <p>run</p>;
}
