// An assessed ministry's self-assessment (the form itself is the components' self-assessment, shared with the
// provinces'; the server gives the ministries' framework).
import { startSelfAssessment } from '../components/self-assessment.js';

startSelfAssessment('ministry');
