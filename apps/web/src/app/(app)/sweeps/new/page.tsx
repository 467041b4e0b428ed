import { SweepCreateForm } from '@/components/sweep-create-form';
import { session } from '@/lib/api';

export default async function NewSweepPage() {
  const { project } = await session();
  return (
    <>
      <h1>New sweep</h1>
      <p className="muted">
        A Sweep document (kiln.dev/v1alpha1) in YAML or JSON, into namespace {project.namespace}; checked as
        you type with the API's own validation.
      </p>
      <SweepCreateForm projectId={project.id} namespace={project.namespace} />
    </>
  );
}
