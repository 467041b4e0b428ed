import { SubmitForm } from '@/components/submit-form';
import { session } from '@/lib/api';

export default async function SubmitPage() {
  const { project } = await session();
  return (
    <>
      <h1>Submit a TrainingJob</h1>
      <p className="muted">
        Into namespace {project.namespace}; the run appears as soon as the job is created.
      </p>
      <SubmitForm projectId={project.id} namespace={project.namespace} />
    </>
  );
}
